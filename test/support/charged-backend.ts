import type { Backend, EmbedInput, EmbedOptions, LoadOptions, LoadedModel, ModelInfo, Parallelism } from '../../src/runtime/types.js';
import type { ResolvedModel } from '../../src/store/index.js';

/** Time that moves only when work is charged to it, so a test can say how long "slow" is without the machine deciding. */
export class ChargedClock {
  ms = 0;
  readonly now = (): number => this.ms;
}

/**
 * A real backend whose every embedding call is charged to a ChargedClock at
 * a cost the test chooses per setting (threads × parallel): the work still
 * runs for real; only its duration is the test's.
 */
export class ChargedBackend implements Backend {
  constructor(
    private readonly inner: Backend,
    private readonly clock: ChargedClock,
    private readonly cost: (settings: Parallelism, texts: number) => number,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  accepts(model: ResolvedModel): boolean {
    return this.inner.accepts(model);
  }

  inspect(model: ResolvedModel, signal?: AbortSignal): Promise<ModelInfo> {
    return this.inner.inspect(model, signal);
  }

  async load(model: ResolvedModel, options: LoadOptions): Promise<LoadedModel> {
    const loaded = await this.inner.load(model, options);
    let settings: Parallelism = { threads: options.threads, parallel: options.parallel };
    const embed = loaded.embed.bind(loaded);
    const configure = loaded.configure.bind(loaded);
    loaded.embed = async (inputs: readonly EmbedInput[], embedOptions?: EmbedOptions) => {
      const result = await embed(inputs, embedOptions);
      this.clock.ms += this.cost(settings, inputs.length);
      return result;
    };
    loaded.configure = async (next: Parallelism) => {
      await configure(next);
      settings = next;
    };
    return loaded;
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}
