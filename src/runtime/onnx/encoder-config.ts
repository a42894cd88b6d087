import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { HearthError } from '../../errors/index.js';
import { onnxVariant } from '../../formats/index.js';
import type { ResolvedModel, StoredFile } from '../../store/index.js';
import type { TokenPooling } from './pooling.js';

/** What an ONNX encoder repo says about itself, read from its files (never guessed). */
export interface EncoderConfig {
  architecture: string;
  hidden: number | undefined;
  layers: number | undefined;
  vocabSize: number | undefined;
  maxPositions: number | undefined;
  /** Longest input in tokens, specials included: the smallest limit any of the files sets. */
  maxTokens: number;
  pooling: TokenPooling;
  normalize: boolean;
  /** e.g. "fp32", "q8", "fp16": from the file name, as transformers.js names dtypes. */
  variant: string;
  tokenizer: StoredFile;
  tokenizerConfig: StoredFile | undefined;
}

const modelConfigSchema = z.looseObject({
  model_type: z.string().optional(),
  architectures: z.array(z.string()).optional(),
  hidden_size: z.number().int().positive().optional(),
  num_hidden_layers: z.number().int().positive().optional(),
  vocab_size: z.number().int().positive().optional(),
  max_position_embeddings: z.number().int().positive().optional(),
});

const modulesSchema = z.array(z.looseObject({ idx: z.number().optional(), path: z.string(), type: z.string() }));

const poolingSchema = z.looseObject({
  pooling_mode_cls_token: z.boolean().optional(),
  pooling_mode_mean_tokens: z.boolean().optional(),
  pooling_mode_max_tokens: z.boolean().optional(),
  pooling_mode_mean_sqrt_len_tokens: z.boolean().optional(),
  pooling_mode_weightedmean_tokens: z.boolean().optional(),
  pooling_mode_lasttoken: z.boolean().optional(),
});

const stConfigSchema = z.looseObject({ max_seq_length: z.number().int().positive().nullish() });
const tokenizerConfigSchema = z.looseObject({ model_max_length: z.number().positive().nullish() });

/** Past this, tokenizer_config's model_max_length is transformers' "no limit" sentinel (1e30). */
const UNBOUNDED = 1_000_000;

/**
 * Reads config.json, the sentence-transformers modules (modules.json,
 * the Pooling module's config.json, Normalize) and the length limits.
 * Pooling and normalization decide what a vector means, so a repo that does
 * not state them, or asks for a module hearth cannot apply (Dense, max
 * pooling), is refused rather than served with different numbers.
 */
export async function readEncoderConfig(model: ResolvedModel): Promise<EncoderConfig> {
  const file = (path: string) => model.files.find((f) => f.path === path);
  const tokenizer = file('tokenizer.json');
  if (!tokenizer) {
    throw new HearthError('MODEL_LOAD_FAILED', `${model.ref} has no tokenizer.json; hearth tokenizes ONNX models with the repo's own tokenizer.json`, {
      details: { ref: model.ref, files: model.files.map((f) => f.path) },
      hint: 'pull the whole repo (hf:<owner>/<repo>), or add tokenizer.json next to the model',
    });
  }
  const config = await readJson(model, file('config.json'), 'config.json', modelConfigSchema, true);
  const modules = await readJson(model, file('modules.json'), 'modules.json', modulesSchema, false);
  if (!modules) {
    throw new HearthError('MODEL_UNSUPPORTED', `${model.ref} has no modules.json, so its pooling and normalization are unknown`, {
      details: { ref: model.ref },
      hint: 'hearth serves sentence-transformers exports (modules.json with a Pooling module); it does not guess how to pool',
    });
  }
  const { pooling, normalize } = await readModules(model, modules, file);
  const stConfig = await readJson(model, file('sentence_bert_config.json'), 'sentence_bert_config.json', stConfigSchema, false);
  const tokConfig = await readJson(model, file('tokenizer_config.json'), 'tokenizer_config.json', tokenizerConfigSchema, false);
  const tokLimit = tokConfig?.model_max_length && tokConfig.model_max_length < UNBOUNDED ? tokConfig.model_max_length : undefined;
  const limits = [stConfig?.max_seq_length ?? undefined, tokLimit, config.max_position_embeddings].filter((n): n is number => n !== undefined);
  if (limits.length === 0) {
    throw new HearthError('MODEL_UNSUPPORTED', `${model.ref} states no maximum input length (sentence_bert_config.json, tokenizer_config.json or config.json)`);
  }
  return {
    architecture: config.model_type ?? config.architectures?.[0] ?? 'unknown',
    hidden: config.hidden_size,
    layers: config.num_hidden_layers,
    vocabSize: config.vocab_size,
    maxPositions: config.max_position_embeddings,
    maxTokens: Math.min(...limits),
    pooling,
    normalize,
    variant: onnxVariant(model.primary.path) ?? model.primary.path,
    tokenizer,
    tokenizerConfig: file('tokenizer_config.json'),
  };
}

async function readModules(
  model: ResolvedModel,
  modules: z.infer<typeof modulesSchema>,
  file: (path: string) => StoredFile | undefined,
): Promise<{ pooling: TokenPooling; normalize: boolean }> {
  let pooling: TokenPooling | undefined;
  let normalize = false;
  for (const module of [...modules].sort((a, b) => (a.idx ?? 0) - (b.idx ?? 0))) {
    const kind = module.type.split('.').pop();
    if (kind === 'Transformer') continue;
    if (kind === 'Normalize') normalize = true;
    else if (kind === 'Pooling') {
      const path = module.path ? `${module.path}/config.json` : 'config.json';
      const config = await readJson(model, file(path), path, poolingSchema, true);
      pooling = poolingMode(model, config);
    } else {
      throw new HearthError('MODEL_UNSUPPORTED', `${model.ref} uses a sentence-transformers ${kind} module, which hearth cannot apply`, {
        details: { ref: model.ref, module: module.type },
      });
    }
  }
  if (!pooling) throw new HearthError('MODEL_UNSUPPORTED', `${model.ref}'s modules.json has no Pooling module`, { details: { ref: model.ref } });
  return { pooling, normalize };
}

function poolingMode(model: ResolvedModel, config: z.infer<typeof poolingSchema>): TokenPooling {
  const modes = Object.entries(config).filter(([key, on]) => key.startsWith('pooling_mode_') && on === true).map(([key]) => key.slice('pooling_mode_'.length));
  const supported: Record<string, TokenPooling> = { mean_tokens: 'mean', cls_token: 'cls', lasttoken: 'last' };
  const mode = modes.length === 1 ? supported[modes[0]!] : undefined;
  if (!mode) {
    throw new HearthError('MODEL_UNSUPPORTED', `${model.ref} pools with ${modes.join(' + ') || 'no mode'}; hearth supports exactly one of mean_tokens, cls_token, lasttoken`, {
      details: { ref: model.ref, modes },
    });
  }
  return mode;
}

async function readJson<S extends z.ZodType>(model: ResolvedModel, file: StoredFile | undefined, path: string, schema: S, required: true): Promise<z.infer<S>>;
async function readJson<S extends z.ZodType>(model: ResolvedModel, file: StoredFile | undefined, path: string, schema: S, required: false): Promise<z.infer<S> | undefined>;
async function readJson<S extends z.ZodType>(model: ResolvedModel, file: StoredFile | undefined, path: string, schema: S, required: boolean): Promise<z.infer<S> | undefined> {
  if (!file) {
    if (!required) return undefined;
    throw new HearthError('MODEL_LOAD_FAILED', `${model.ref} has no ${path}`, { details: { ref: model.ref, file: path } });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file.localPath, 'utf8'));
  } catch (error) {
    throw new HearthError('MODEL_LOAD_FAILED', `${model.ref}: cannot read ${path}: ${(error as Error).message}`, { cause: error, details: { ref: model.ref, file: path } });
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    throw new HearthError('MODEL_LOAD_FAILED', `${model.ref}: ${path} is not what hearth expects: ${z.prettifyError(result.error)}`, { details: { ref: model.ref, file: path } });
  }
  return result.data;
}
