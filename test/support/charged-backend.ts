import type { Backend, EmbedInput, EmbedOptions, LoadOptions, LoadedModel, Parallelism } from '../../src/runtime/types.js';
import { WrappedBackend } from './wrapped-backend.js';

/** Time that moves only when work is charged to it, so a test can say how long "slow" is without the machine deciding. */
export class ChargedClock {
  ms = 0;
  readonly now = (): number => this.ms;
}

/**
 * A real backend whose every embedding call is charged to a ChargedClock at
 * a cost the test chooses per setting (threads × parallel) and input (a text or a clip): the work still
 * runs for real; only its duration is the test's.
 */
export class ChargedBackend extends WrappedBackend {
  constructor(
    inner: Backend,
    private readonly clock: ChargedClock,
    private readonly cost: (settings: Parallelism, texts: number) => number,
  ) {
    super(inner);
  }

  protected wrap(loaded: LoadedModel, _model: unknown, options: LoadOptions): LoadedModel {
    let settings: Parallelism = { threads: options.threads, parallel: options.parallel };
    const embed = loaded.embed.bind(loaded);
    const configure = loaded.configure.bind(loaded);
    loaded.embed = async (inputs: readonly EmbedInput[], embedOptions?: EmbedOptions) => {
      const result = await embed(inputs, embedOptions);
      this.clock.ms += this.cost(settings, inputs.length);
      return result;
    };
    const embedAudio = loaded.embedAudio?.bind(loaded);
    if (embedAudio) {
      loaded.embedAudio = async (clips, audioOptions) => {
        const result = await embedAudio(clips, audioOptions);
        this.clock.ms += this.cost(settings, clips.length);
        return result;
      };
    }
    loaded.configure = async (next: Parallelism) => {
      await configure(next);
      settings = next;
    };
    return loaded;
  }
}
