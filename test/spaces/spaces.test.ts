import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import type { ModelPool } from '../../src/pool/model-pool.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { OnnxBackend } from '../../src/runtime/onnx/onnx-backend.js';
import type { LoadedModel } from '../../src/runtime/types.js';
import { createSpaces, PROBES, type Spaces } from '../../src/spaces/index.js';
import { writeBertFixture } from '../support/gguf-fixtures.js';
import { poolBed } from '../support/pool-bed.js';
import { WrappedBackend } from '../support/wrapped-backend.js';

/** A real backend whose models count their embed calls (instrumentation: every call goes through). */
class EmbedCounting extends WrappedBackend {
  calls = 0;
  protected wrap(loaded: LoadedModel): LoadedModel {
    const embed = loaded.embed.bind(loaded);
    loaded.embed = (inputs, options) => {
      this.calls++;
      return embed(inputs, options);
    };
    return loaded;
  }
}

/** A real backend whose vectors are spoiled on the way out: what a broken kernel or a zero-norm bug looks like. */
class Spoiling extends WrappedBackend {
  constructor(
    inner: LlamaBackend,
    private readonly spoil: (v: Float32Array) => void,
  ) {
    super(inner);
  }
  protected wrap(loaded: LoadedModel): LoadedModel {
    const embed = loaded.embed.bind(loaded);
    loaded.embed = async (inputs, options) => {
      const result = await embed(inputs, options);
      if (inputs.length === PROBES.length) this.spoil(result.vectors[3]!);
      return result;
    };
    return loaded;
  }
}

const llama = () => new LlamaBackend({ device: 'cpu', logger: silentLogger });
const onnx = () => new OnnxBackend({ logger: silentLogger, batch: { maxTokens: 512, maxRows: 32 } });

describe('embedding spaces', () => {
  const bed = poolBed();
  let homes = 0;
  /** Spaces in a home of their own per test, over `pool`. */
  const spacesOver = (pool: ModelPool, home = join(bed.box.root, `home-${++homes}`)): Spaces =>
    createSpaces({ home, logger: silentLogger, acquire: (ref, options) => pool.acquire(ref, options) });

  test('a space made on a GGUF model checks identical on the same runtime, and the check is measured once per runtime', async () => {
    const counting = new EmbedCounting(llama());
    const spaces = spacesOver(bed.pool({}, { backends: [counting] }));
    const record = await spaces.create('notes', bed.fixtures.bert);
    assert.equal(record.probeVectors.length, PROBES.length);
    assert.equal(record.model.dimensions, 64);
    assert.equal(record.model.format, 'gguf');
    assert.equal(record.model.pooling, 'mean');
    assert.equal(record.model.tokenizer, null, "a GGUF's tokenizer is inside its weights");
    assert.match(record.fingerprints.model, /^[0-9a-f]{64}$/);
    assert.equal(record.runtime.engine, 'llama.cpp');
    assert.ok(record.runtime.cpuVariant, 'the CPU kernel variant is part of the runtime');

    const seeded = counting.calls;
    assert.equal((await spaces.check('notes')).verdict, 'identical');
    assert.equal(counting.calls, seeded, 'the runtime that made the space is known to check identical: nothing is embedded again');

    // Another process on the same home (a server, a later CLI run) measures it.
    const pool = bed.pool({}, { backends: [counting] });
    const other = spacesOver(pool, dirname(spaces.registry.dir));
    const report = await other.check('notes');
    assert.ok(counting.calls > seeded, 'the probes were embedded');
    assert.equal(report.verdict, 'identical', report.reasons.join('; '));
    assert.deepEqual(report.diff, []);
    assert.equal(report.probes!.maxAbsDiff, 0, 'the same runtime makes the same numbers');
    assert.equal(report.probes!.rankTau, 1);
    assert.deepEqual(report.fingerprints.current, report.fingerprints.space);

    const calls = counting.calls;
    const again = await other.check('notes');
    assert.equal(counting.calls, calls, 'a second check on the same runtime is answered from the cache');
    assert.equal(again, report);

    const stored = await spaces.get('notes');
    assert.deepEqual(stored.fingerprints, record.fingerprints);
    assert.deepEqual(
      stored.probeVectors.map((v) => Array.from(v)),
      record.probeVectors.map((v) => Array.from(v)),
    );
    assert.deepEqual((await spaces.list()).map((l) => l.name), ['notes']);
    await spaces.remove('notes');
    await assert.rejects(spaces.get('notes'), (e) => isHearthError(e, 'SPACE_NOT_FOUND'));
  });

  test('another pooling or another precision of the model is incompatible through the model fingerprint, with a field-by-field diff', async () => {
    const spaces = spacesOver(bed.pool({ maxLoaded: 3 }));
    await spaces.create('mean-f32', bed.fixtures.bert);

    const cls = await spaces.check('mean-f32', { model: bed.fixtures.bertCls });
    assert.equal(cls.verdict, 'incompatible');
    const fields = cls.diff.map((d) => d.field);
    assert.ok(fields.includes('model.pooling'), fields.join());
    assert.ok(fields.includes('model.weights'), fields.join());
    assert.deepEqual(cls.diff.find((d) => d.field === 'model.pooling'), { field: 'model.pooling', space: 'mean', current: 'cls' });
    assert.notEqual(cls.fingerprints.current.model, cls.fingerprints.space.model);
    assert.equal(cls.fingerprints.current.runtime, cls.fingerprints.space.runtime);

    const f16 = join(bed.fixtures.dir, 'tiny-bert-f16.gguf');
    await writeBertFixture(f16, { seed: 2, context: 128, type: 'F16' });
    const half = await spaces.check('mean-f32', { model: f16 });
    assert.equal(half.verdict, 'incompatible');
    assert.deepEqual(half.diff.find((d) => d.field === 'model.quantization'), { field: 'model.quantization', space: 'F32', current: 'F16' });
    assert.ok(half.probes, 'same dimensions: the numbers are still measured and reported');
    assert.ok(half.probes.min < 1);
  });

  test('an ONNX space records its tokenizer and checks identical; an unknown space is SPACE_NOT_FOUND, a bad name SPACE_NAME_INVALID', async () => {
    const spaces = spacesOver(bed.pool({}, { backends: [onnx()] }));
    const record = await spaces.create('onnx-notes', bed.fixtures.onnxBert);
    assert.equal(record.model.format, 'onnx');
    assert.match(record.model.tokenizer ?? '', /^[0-9a-f]{64}$/);
    assert.ok(record.model.files.length > 2, 'graph, tokenizer and configs');
    assert.equal(record.runtime.engine, 'onnxruntime');
    const report = await spaces.check('onnx-notes');
    assert.equal(report.verdict, 'identical', report.reasons.join('; '));

    await assert.rejects(spaces.check('nope'), (e) => isHearthError(e, 'SPACE_NOT_FOUND'));
    for (const bad of ['../etc', 'a/b', '.hidden', '', 'x'.repeat(65), 'sp ace']) {
      await assert.rejects(spaces.create(bad, bed.fixtures.onnxBert), (e) => isHearthError(e, 'SPACE_NAME_INVALID'), bad);
    }
    await assert.rejects(spaces.create('onnx-notes', bed.fixtures.onnxBert), (e) => isHearthError(e, 'SPACE_EXISTS'));
  });

  test('export and import: a copy checks identical under another name; a tampered or truncated file is refused and nothing is stored', async () => {
    const spaces = spacesOver(bed.pool());
    await spaces.create('origin', bed.fixtures.bert);
    const text = await spaces.export('origin');

    const copy = await spaces.import(text, 'origin.json', { name: 'copy' });
    assert.equal(copy.name, 'copy');
    assert.equal((await spaces.check('copy')).verdict, 'identical');
    await assert.rejects(spaces.import(text, 'origin.json'), (e) => isHearthError(e, 'SPACE_EXISTS'));

    const json = JSON.parse(text) as { probeVectors: string[]; model: { pooling: string }; runtime: { cpuVariant: string } };
    const vector = Buffer.from(json.probeVectors[5]!, 'base64');
    vector.writeFloatLE(vector.readFloatLE(0) + 0.01, 0);
    const cases: Array<[string, string, RegExp]> = [
      ['a probe vector edited', JSON.stringify({ ...json, probeVectors: json.probeVectors.map((v, i) => (i === 5 ? vector.toString('base64') : v)) }), /probes fingerprint/],
      ['the pooling edited', JSON.stringify({ ...json, model: { ...json.model, pooling: 'cls' } }), /model fingerprint/],
      ['the runtime edited', JSON.stringify({ ...json, runtime: { ...json.runtime, cpuVariant: 'haswell-ish' } }), /runtime fingerprint/],
      ['truncated', text.slice(0, Math.floor(text.length / 2)), /not JSON/],
      ['a vector dropped', JSON.stringify({ ...json, probeVectors: json.probeVectors.slice(1) }), /probe vectors/],
      ['not a space', '{"hello": "world"}', /format/],
    ];
    for (const [what, body, message] of cases) {
      await assert.rejects(
        spaces.import(body, 'bad.json', { name: 'bad' }),
        (e) => isHearthError(e, 'SPACE_FILE_INVALID') && message.test(e.message),
        what,
      );
    }
    await assert.rejects(spaces.get('bad'), (e) => isHearthError(e, 'SPACE_NOT_FOUND'));

    // A space file damaged on disk is listed with its error, never dropped.
    await writeFile(join(spaces.registry.dir, 'copy.json'), text.slice(0, 100));
    const listed = await spaces.list();
    assert.deepEqual(
      listed.map((l) => [l.name, l.error?.code]),
      [
        ['copy', 'SPACE_FILE_INVALID'],
        ['origin', undefined],
      ],
    );
    assert.equal(await readFile(join(spaces.registry.dir, 'copy.json'), 'utf8'), text.slice(0, 100), 'the damaged file is left for its owner');
  });

  for (const [what, spoil] of [
    ['NaN', (v: Float32Array) => (v[0] = Number.NaN)],
    ['zero-norm', (v: Float32Array) => v.fill(0)],
  ] as const) {
    test(`a probe vector that comes out ${what} fails the check loudly and is never stored`, async () => {
      const spaces = spacesOver(bed.pool({}, { backends: [new Spoiling(llama(), spoil)] }));
      await assert.rejects(spaces.create(`spoiled-${what.toLowerCase()}`, bed.fixtures.bert), (e) => isHearthError(e, 'SPACE_PROBE_INVALID') && /probe 3/.test(e.message));
      assert.deepEqual(await spaces.list(), []);
    });
  }
});
