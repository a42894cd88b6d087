import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerStatus } from './peers/build-llama-cpp.js';
import { cachedBertGguf, cachedBertOnnx, cachedLlamaGguf } from './models/fixtures.js';
import type { Profile } from './profile.js';
import { benchTexts } from './texts.js';

export interface BenchOptions {
  quick: boolean;
  repeats: number;
  only: string[] | undefined;
  /** A real GGUF for the generation scenarios (G1, G2, S1, T1's generation rows). */
  model: string | undefined;
  entry: 'src' | 'dist';
}

/**
 * What every scenario gets: options and sizes, the texts, lazily generated
 * models, the peer binaries' status, scratch directories, progress output, and
 * per-repeat memoisation so scenarios that share a measurement (E1's server
 * session feeds E2, H1 and T1) run it once per repeat.
 */
export class RunContext {
  readonly texts: string[];
  repeat = 0;
  #memo = new Map<string, Promise<unknown>>();
  #models = new Map<string, Promise<string>>();
  #tmp: Promise<string> | undefined;
  #counter = 0;

  constructor(
    readonly options: BenchOptions,
    readonly profile: Profile,
    readonly cacheDir: string,
    readonly peers: PeerStatus,
    readonly log: (message: string) => void,
  ) {
    this.texts = benchTexts({ count: profile.e2Texts, words: 18 });
  }

  /** The embedding bert (GGUF): MiniLM-L6 shape, or tiny in --quick. */
  bert(): Promise<string> {
    return this.#model('bert', () => cachedBertGguf(this.cacheDir, this.profile.bert));
  }

  /** The generation model: --model, else the generated llama. */
  llama(): Promise<string> {
    if (this.options.model) return Promise.resolve(this.options.model);
    return this.#model('llama', () => cachedLlamaGguf(this.cacheDir, this.profile.llama));
  }

  /** The ONNX sentence-transformers folder, of the same shape as bert() (MiniLM-L6, or tiny in --quick). */
  bertOnnx(): Promise<string> {
    return this.#model('bert-onnx', () => cachedBertOnnx(this.cacheDir, this.profile.onnxShape));
  }

  #model(key: string, make: () => Promise<string>): Promise<string> {
    let p = this.#models.get(key);
    if (!p) {
      this.log(`preparing model ${key}`);
      this.#models.set(key, (p = make()));
    }
    return p;
  }

  /** Runs `fn` once per repeat for `key`; later callers in the same repeat get the same promise (or rejection). */
  shared<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const full = `${this.repeat}:${key}`;
    let p = this.#memo.get(full) as Promise<T> | undefined;
    if (!p) this.#memo.set(full, (p = fn()));
    return p;
  }

  /** Runs `fn` once for the whole run (preparation that every repeat reuses). */
  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.#memo.get(`once:${key}`) as Promise<T> | undefined;
    if (!p) this.#memo.set(`once:${key}`, (p = fn()));
    return p;
  }

  /** A fresh scratch directory (removed by dispose()). */
  async tempDir(name: string): Promise<string> {
    this.#tmp ??= mkdtemp(join(tmpdir(), 'hearth-bench-')).then((root) => {
      // An interrupted run (Ctrl-C exits without dispose()) must not leave P1's pull or the server homes behind.
      process.once('exit', () => rmSync(root, { recursive: true, force: true }));
      return root;
    });
    const dir = join(await this.#tmp, `${String(++this.#counter).padStart(3, '0')}-${name}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** The directory of the peers, or the reason the peer columns are empty. */
  peerBinaries(): { llamaServer: string; llamaBench: string } | { unavailable: string } {
    return this.peers.built ? this.peers.binaries : { unavailable: this.peers.reason };
  }

  async dispose(): Promise<void> {
    if (this.#tmp) await rm(await this.#tmp, { recursive: true, force: true });
  }
}
