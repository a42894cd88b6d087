/**
 * Finds stop sequences in streamed text. Matching runs on the joined output,
 * not token by token, so a stop that spans tokens or starts with a space is
 * found; text that could be the start of a stop is held back until it is
 * ruled out, and released when generation ends.
 */
export class StopMatcher {
  #held = '';
  #stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Feeds new text; returns the part that is safe to emit now. */
  push(text: string): string {
    if (this.#stopped) return '';
    const buffer = this.#held + text;
    let cut = -1;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.#stopped = true;
      this.#held = '';
      return buffer.slice(0, cut);
    }
    const keep = this.#partialSuffix(buffer);
    this.#held = buffer.slice(buffer.length - keep);
    return buffer.slice(0, buffer.length - keep);
  }

  /** The held-back text, once generation ended without a stop. */
  flush(): string {
    const held = this.#held;
    this.#held = '';
    return this.#stopped ? '' : held;
  }

  /** Length of the longest suffix of `buffer` that begins some stop sequence. */
  #partialSuffix(buffer: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, buffer.length); n > longest; n--) {
        if (buffer.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
