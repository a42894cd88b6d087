import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Command } from 'commander';
import { HearthError, parseInput } from '../../errors/index.js';
import { defineModel, storedModel } from '../../pool/define-model.js';
import { modelParameters } from '../../store/index.js';
import { addParameter, parseModelfile } from '../../store/modelfile.js';
import type { CommandFactory } from '../command.js';
import { writeJson } from '../format.js';

interface CreateOptions {
  file?: string;
  from?: string;
  template?: string;
  system?: string;
  parameter?: string[];
  json?: boolean;
}

export const createCommand: CommandFactory = (run) =>
  new Command('create')
    .description("make a model definition (Ollama's create): a name with its own chat template, system prompt and parameters over a stored model or a local GGUF")
    .argument('<name>', 'the new name, `name` or `name:tag`')
    .option('-f, --file <Modelfile>', "read FROM, TEMPLATE, SYSTEM, PARAMETER and LICENSE from an Ollama Modelfile (a relative FROM path is the Modelfile's)")
    .option('--from <ref>', 'the model to start from: a stored model, a definition, a hub reference or a local GGUF file (overrides the Modelfile)')
    .option('--template <file>', 'a Jinja chat template file (as GGUF files carry), replacing the model\'s own')
    .option('--system <text>', 'the system prompt')
    .option('-p, --parameter <name=value...>', 'a parameter (num_ctx, temperature, top_k, stop, …), repeatable')
    .option('--json', 'print the definition as JSON')
    .action(
      run(async (ctx, name: string, options: CreateOptions) => {
        const file = options.file ? parseModelfile(await readText(options.file)) : undefined;
        const fromFile = file?.from !== undefined && options.file ? relativeTo(file.from, dirname(options.file)) : undefined;
        const from = options.from ?? fromFile;
        if (from === undefined) throw new HearthError('USAGE', 'create needs a model to start from: --from REF, or FROM in the Modelfile (-f)');
        const raw: Record<string, unknown> = { ...file?.parameters };
        for (const entry of options.parameter ?? []) {
          const at = entry.indexOf('=');
          if (at <= 0) throw new HearthError('USAGE', `--parameter ${entry}: expected name=value`);
          addParameter(raw, entry.slice(0, at), entry.slice(at + 1));
        }
        const parameters = parseInput(modelParameters, raw, 'parameters');
        const store = ctx.store();
        const definition = await defineModel(store, name, await storedModel(store, from), {
          template: options.template !== undefined ? await readText(options.template) : file?.template,
          system: options.system ?? file?.system,
          license: file?.license,
          parameters,
        });
        if (options.json) return writeJson(ctx.stdout, definition);
        ctx.stdout.write(`created ${definition.name} from ${definition.from}\n`);
      }),
    );

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new HearthError('USAGE', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** A Modelfile's FROM path is relative to the Modelfile, as in Ollama; names and references are left as they are. */
function relativeTo(from: string, dir: string): string {
  return (from.startsWith('./') || from.startsWith('../')) && !isAbsolute(from) ? resolve(dir, from) : from;
}
