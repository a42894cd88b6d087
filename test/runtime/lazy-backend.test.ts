import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { ENGINE_FORMATS } from '../../src/runtime/engine-formats.js';
import { lazyBackend } from '../../src/runtime/lazy-backend.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import type { Backend } from '../../src/runtime/types.js';
import type { ResolvedModel } from '../../src/store/index.js';
import { createModelFixtures, type ModelFixtures } from '../support/model-fixtures.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

/** A lazily imported llama.cpp backend that counts how often it was made. */
function counted(create: () => Promise<Backend> = async () => new LlamaBackend({ device: 'cpu', logger: silentLogger })) {
  const made = { count: 0 };
  const backend = lazyBackend('llama.cpp', ENGINE_FORMATS.llama, async () => {
    made.count++;
    return create();
  });
  return { backend, made };
}

describe('lazyBackend: an engine imported when it first has a model', () => {
  let fixtures: ModelFixtures;
  let box: Sandbox;
  let gguf: ResolvedModel;
  let onnx: ResolvedModel;
  before(async () => {
    fixtures = await createModelFixtures();
    box = await createSandbox();
    gguf = await box.store().resolve(fixtures.llama);
    onnx = await box.store().resolve(fixtures.onnxBert);
  });
  after(async () => {
    await box.cleanup();
    await fixtures.cleanup();
  });

  test('answers accepts from file names alone, making nothing', async () => {
    const { backend, made } = counted();
    assert.equal(backend.accepts(gguf), true);
    assert.equal(backend.accepts(onnx), false);
    assert.equal(made.count, 0);
    await backend.dispose();
    assert.equal(made.count, 0, 'disposing an unused backend makes nothing');
  });

  test('makes the engine once for concurrent callers, and answers as the engine itself does', async () => {
    const { backend, made } = counted();
    const direct = new LlamaBackend({ device: 'cpu', logger: silentLogger });
    try {
      const [a, b] = await Promise.all([backend.inspect(gguf), backend.inspect(gguf)]);
      assert.equal(made.count, 1);
      assert.deepEqual(a, b);
      assert.deepEqual(a, await direct.inspect(gguf));
    } finally {
      await backend.dispose();
      await direct.dispose();
    }
  });

  test('prepare starts the engine ahead of the first load, which then reuses it', async () => {
    const { backend, made } = counted();
    try {
      await backend.prepare!(gguf);
      assert.equal(made.count, 1);
      const model = await backend.load(gguf, { threads: 1, parallel: 1 });
      await model.dispose();
      assert.equal(made.count, 1);
    } finally {
      await backend.dispose();
    }
  });

  test('an engine that cannot start fails each load with a typed error, prepare never rejects, and the next call tries again', async () => {
    let fail = true;
    const { backend, made } = counted(async () => {
      if (fail) throw new Error('libllama.so: cannot open shared object file');
      return new LlamaBackend({ device: 'cpu', logger: silentLogger });
    });
    try {
      await backend.prepare!(gguf);
      await assert.rejects(
        backend.inspect(gguf),
        (e: unknown) => isHearthError(e, 'MODEL_LOAD_FAILED') && /llama\.cpp backend could not start: libllama\.so/.test(e.message) && /cannot open shared object/.test((e.cause as Error).message),
      );
      fail = false;
      assert.equal((await backend.inspect(gguf)).format, 'gguf');
      assert.equal(made.count, 3);
    } finally {
      await backend.dispose();
    }
  });

  test('after dispose, every call fails with a typed error and nothing new is made', async () => {
    const { backend, made } = counted();
    await backend.inspect(gguf);
    await backend.dispose();
    await backend.dispose();
    await assert.rejects(backend.inspect(gguf), (e: unknown) => isHearthError(e, 'MODEL_LOAD_FAILED') && /disposed/.test(e.message));
    await backend.prepare!(gguf);
    assert.equal(made.count, 1);
  });
});
