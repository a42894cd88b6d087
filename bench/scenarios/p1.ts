import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../../src/store/digest.js';
import { untamedEnv } from '../env.js';
import { hearthCommand } from '../hearth/hearth-server.js';
import { CHILD } from '../measure/children.js';
import { startChild } from '../proc/child.js';
import { cliStartupMs, timed } from '../proc/timed.js';
import { attempt, isNumber, type Scenario } from '../scenario.js';

/**
 * `hearth pull` of one few-hundred-MB LFS file from the fake hub on loopback
 * (redirect, streaming sha256 verification, fsync, atomic publish), against
 * `curl -L -o` of the same URL; both are whole processes timed from spawn to
 * exit, alternating which goes first. hearth's process start-up is reported
 * separately in the details.
 */
const REPO = 'bench/pull';
const FILE = 'model.gguf';

export const p1: Scenario = {
  id: 'P1',
  title: '`hearth pull` from the loopback fake hub, hashing included',
  rows: [
    { metric: 'pull time (throughput ratio)', unit: 'ms', hearth: 'hearth', baseline: { key: 'curl', label: 'curl -L -o, same URL' }, compare: 'inverse', target: { op: '>=', value: 0.8 } },
    { metric: 'pull time less CLI start-up', unit: 'ms', hearth: 'hearthNet', baseline: { key: 'curl', label: 'curl -L -o, same URL' }, compare: 'inverse', note: 'diagnostic' },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = { bytes: ctx.profile.pullBytes };
    let stopHub: () => void = () => undefined;
    let url: string | undefined;
    let announce: () => void = () => undefined;
    const announced = new Promise<void>((resolve) => (announce = resolve));
    const hub = startChild<{ bytes: number; repo: string; file: string }, unknown>(CHILD.fakeHub, { bytes: ctx.profile.pullBytes, repo: REPO, file: FILE }, {
      env: untamedEnv(),
      timeoutMs: 900_000,
      stop: new Promise<void>((resolve) => (stopHub = resolve)),
      onEvent: (event) => {
        url = (event as { url: string }).url;
        announce();
      },
    });
    try {
      await Promise.race([announced, hub.result]);
      const hubUrl = url!;
      const dir = await ctx.tempDir('p1');
      const runCurl = () =>
        attempt(async () => {
          ctx.log('  P1: curl');
          const out = join(dir, 'curl.out');
          const ms = await timed('curl', ['-sS', '-f', '-L', '-o', out, `${hubUrl}/${REPO}/resolve/main/${FILE}`], untamedEnv());
          // The floor hashing sets: sha256 of the same bytes from disk with Node's crypto, in this process.
          details.sha256Ms = await sha256Ms(out);
          await rm(out, { force: true });
          return ms;
        });
      const runHearth = () =>
        attempt(async () => {
          ctx.log('  P1: hearth pull');
          const home = join(dir, 'home');
          const env = untamedEnv(process.env, { HEARTH_HOME: home, HF_HUB_CACHE: join(home, 'hub'), HF_HOME: join(home, 'hf'), HF_ENDPOINT: hubUrl, HEARTH_DISK_RESERVE: '0' });
          const ms = await timed(process.execPath, [...hearthCommand(ctx.options.entry), 'pull', `hf:${REPO}/${FILE}`], env);
          await rm(home, { recursive: true, force: true });
          return ms;
        });
      const curlFirst = ctx.repeat % 2 === 0;
      const first = curlFirst ? await runCurl() : await runHearth();
      const second = curlFirst ? await runHearth() : await runCurl();
      // The same CLI doing nothing: Node, tsx (with --entry src) and the command table.
      const startup = await attempt(() => cliStartupMs(ctx.options.entry));
      const hearth = curlFirst ? second : first;
      Object.assign(details, { hearthStartupMs: startup, order: curlFirst ? 'curl, hearth' : 'hearth, curl' });
      const hearthNet = isNumber(hearth) && isNumber(startup) ? hearth - startup : hearth;
      return { values: { curl: curlFirst ? first : second, hearth, hearthNet }, details };
    } finally {
      stopHub();
      await hub.result.catch(() => undefined);
    }
  },
};

async function sha256Ms(path: string): Promise<number> {
  const start = performance.now();
  await sha256File(path); // exactly what hearth pull runs over the bytes
  return performance.now() - start;
}
