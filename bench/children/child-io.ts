/**
 * Child side of bench/proc/child.ts: waits for its JSON input, runs, sends the
 * result (or the error) and exits. `stopped` resolves when the parent asks a
 * long-running child to finish; `emit` sends a progress event.
 */
export interface ChildTools {
  stopped: Promise<void>;
  emit(event: unknown): void;
}

export function childMain<I, O>(handler: (input: I, tools: ChildTools) => Promise<O>): void {
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const send = (message: unknown) => new Promise<void>((resolve) => process.send!(message, undefined, {}, () => resolve()));
  const tools: ChildTools = { stopped, emit: (event) => void send({ type: 'event', event }) };
  // The harness went away: nothing will read the result.
  process.once('disconnect', () => process.exit(2));
  process.on('message', (message: { type: string; input?: unknown }) => {
    if (message.type === 'stop') stop();
    if (message.type !== 'input') return;
    handler(message.input as I, tools).then(
      async (result) => {
        await send({ type: 'result', result });
        process.exit(0);
      },
      async (error: unknown) => {
        await send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        process.exit(1);
      },
    );
  });
}
