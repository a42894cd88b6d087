import { cp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MINILM_L6_SHAPE, writeBertOnnxFixture } from '../../test/support/bert-onnx-fixture.js';
import { spaceCheck, spaceCli, spaceEnv } from '../measure/space-cli.js';
import { attempt, type Scenario } from '../scenario.js';

/**
 * Embedding spaces through the CLI, as a user runs them: the time of a
 * full probe check (48 probes, four of them filling the model's context) on
 * the MiniLM-shaped models at 1 thread, as the check itself reports it (the
 * probes embedded on a freshly loaded model, then compared; what the first
 * request naming a space pays); and the probe agreement of ONNX int8
 * against fp32, the figure behind the verdict quantization gets.
 */
export const sp1: Scenario = {
  id: 'SP1',
  title: 'Embedding spaces: probe check time, and int8 against fp32',
  rows: [
    { metric: 'check ms (GGUF bert, llama.cpp, 1 thread)', unit: 'ms', hearth: 'ggufCheck', compare: 'value', target: { op: '<=', value: 1000 } },
    { metric: 'check ms (ONNX bert, onnxruntime, 1 thread)', unit: 'ms', hearth: 'onnxCheck', compare: 'value', target: { op: '<=', value: 1000 } },
    { metric: 'int8 vs fp32 min probe cosine (ONNX)', unit: 'cosine', hearth: 'int8Min', compare: 'value', note: 'incompatible by model fingerprint; tau in details' },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = {};
    const entry = ctx.options.entry;
    const home = await ctx.tempDir('spaces');
    const env = spaceEnv(home, { HEARTH_THREADS: '1' });
    const timedCheck = async (name: string, model: string): Promise<number> => {
      await spaceCli(entry, ['create', name, '--model', model], env);
      const report = await spaceCheck(entry, name, env);
      details[name] = { verdict: report.verdict, durationMs: report.durationMs };
      if (report.verdict !== 'identical') throw new Error(`the same runtime checked ${report.verdict}`);
      return report.durationMs;
    };
    const ggufCheck = await attempt(async () => timedCheck('gguf', await ctx.bert()));
    const onnxCheck = await attempt(async () => timedCheck('onnx', await ctx.bertOnnx()));
    const int8Min = await attempt(async () => {
      const fp32 = await ctx.tempDir('onnx-fp32');
      await writeBertOnnxFixture(fp32, { ...MINILM_L6_SHAPE, ...ctx.profile.onnxShape, seed: 7, variants: ['int8'] });
      // The same export with its int8 graph as the model: what `hf:<repo>:int8` selects.
      const int8 = await ctx.tempDir('onnx-int8');
      await cp(fp32, int8, { recursive: true });
      await rm(join(int8, 'onnx', 'model.onnx'));
      await rename(join(int8, 'onnx', 'model_int8.onnx'), join(int8, 'onnx', 'model.onnx'));
      await spaceCli(entry, ['create', 'fp32', '--model', fp32], env);
      const report = await spaceCheck(entry, 'fp32', env, int8);
      details.int8 = { verdict: report.verdict, reasons: report.reasons, probes: report.probes && { ...report.probes, cosines: undefined } };
      if (!report.probes) throw new Error('dimensions differ');
      return report.probes.min;
    });
    return { values: { ggufCheck, onnxCheck, int8Min }, details };
  },
};
