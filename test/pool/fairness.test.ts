import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '../../src/log/logger.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { OnnxBackend } from '../../src/runtime/onnx/onnx-backend.js';
import { poolBed } from '../support/pool-bed.js';

/**
 * The fairness rule: the cores are taken per unit of engine work (a decode
 * step, an encoder batch) and given back between units, so one model's
 * long generation never holds another model's requests until it ends.
 */
describe('CPU fairness between models', () => {
  const bed = poolBed();

  for (const model of ['onnxBert', 'bert'] as const) {
    test(`embeddings on another model (${model}) are served while two generations run`, { timeout: 300_000 }, async () => {
      const { fixtures } = bed;
      const pool = bed.pool(
        // Generation takes every core per decode step: the case where an embedding would starve. The context is the
        // fixture's whole 65536 tokens, so the generations cannot end by themselves before the test stops them.
        { maxLoaded: 3, threads: 2, contextSize: 65536 },
        { backends: [new LlamaBackend({ device: 'cpu', logger: silentLogger }), new OnnxBackend({ logger: silentLogger, batch: { maxTokens: 512, maxRows: 32 } })] },
      );
      // The embedding model is loaded and warm first: what is measured is the wait for the cores, not a load.
      await pool.use(fixtures[model], {}, (m) => m.embed(['warm']));
      const controller = new AbortController();
      let tokens = 0;
      let firstToken!: () => void;
      const started = new Promise<void>((resolve) => (firstToken = resolve));
      const chat = async () => {
        const lease = await pool.acquire(fixtures.llama);
        try {
          // Far more tokens than the test needs: it is stopped by the abort once the embeddings are done.
          for await (const event of lease.model.generate({ kind: 'completion', prompt: 'once upon a time', maxTokens: 1_000_000, temperature: 0.8, seed: tokens, signal: controller.signal })) {
            if (event.type === 'text') {
              tokens++;
              firstToken();
            } else if (event.type === 'done') return event.stopReason;
          }
        } finally {
          lease.release();
        }
        return 'none';
      };
      const chats = [chat(), chat()].map((p) => p.catch((e: unknown) => `error: ${(e as Error).message}`));
      await started;
      for (let i = 0; i < 5; i++) {
        const result = await pool.use(fixtures[model], {}, (m) => m.embed([`query number ${i}`]));
        assert.equal(result.vectors.length, 1);
      }
      const tokensWhileEmbedding = tokens;
      controller.abort();
      const endings = await Promise.all(chats);
      assert.ok(tokensWhileEmbedding > 0);
      // Both generations were still running when the last embedding came back: nothing waited for them to end.
      for (const ending of endings) assert.ok(ending === 'abort' || /abort/i.test(ending), `generation ended by ${ending}`);
    });
  }
});
