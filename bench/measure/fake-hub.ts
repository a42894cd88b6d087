import type { FakeHubInput } from '../children/fake-hub-server.js';
import { untamedEnv } from '../env.js';
import { startChild } from '../proc/child.js';
import { CHILD } from './children.js';

/**
 * The fake hub in a process of its own (bench/children/fake-hub-server.ts),
 * so serving bytes never shares an event loop with the client being timed.
 * Resolves once it serves; stop() ends it.
 */
export interface HubProcess {
  url: string;
  stop(): Promise<void>;
}

export async function startHubProcess(input: FakeHubInput): Promise<HubProcess> {
  let stopHub: () => void = () => undefined;
  let url: string | undefined;
  let announce: () => void = () => undefined;
  const announced = new Promise<void>((resolve) => (announce = resolve));
  const hub = startChild<FakeHubInput, unknown>(CHILD.fakeHub, input, {
    env: untamedEnv(),
    timeoutMs: 900_000,
    stop: new Promise<void>((resolve) => (stopHub = resolve)),
    onEvent: (event) => {
      url = (event as { url: string }).url;
      announce();
    },
  });
  const stop = async () => {
    stopHub();
    await hub.result.catch(() => undefined);
  };
  try {
    // A hub that dies before serving rejects here with its reason.
    await Promise.race([announced, hub.result]);
  } catch (error) {
    await stop();
    throw error;
  }
  if (url === undefined) {
    await stop();
    throw new Error('fake hub answered before serving');
  }
  return { url, stop };
}
