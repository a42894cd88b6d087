import { DEFAULT_PULL_CONNECTIONS, DEFAULT_PULL_PIECE_BYTES } from '../../src/config/schema.js';
import { parseBytes } from '../../src/config/bytes.js';
import type { RunContext } from '../context.js';
import { startHubProcess } from '../measure/fake-hub.js';
import { pullRace } from '../measure/pull.js';
import { healthDuringPull, type PullHealth } from '../measure/pull-health.js';
import { cliStartupMs } from '../proc/timed.js';
import { attempt, isNumber, reasonOf, unavailable, type Scenario, type Value } from '../scenario.js';

/**
 * `hearth pull` of one few-hundred-MB LFS file from the fake hub on loopback
 * (redirect, parallel ranges, sha256 on a worker thread, fsync, atomic
 * publish), against `curl -L -o` of the same URL and against the physical
 * limit: the slower of curl's transfer and sha256 of the same bytes, since a
 * verified pull can beat neither. Then the same race on a second hub that
 * paces every connection on its own, where ranges should beat one stream by
 * about the number of connections. Last, /health while `hearth serve` pulls
 * the large file through POST /api/pull. Every pull is a whole process timed
 * from spawn to exit; hearth's process start-up is reported in the details.
 */
const REPO = 'bench/pull';
const FILE = 'model.gguf';
const CURL = { key: 'curl', label: 'curl -L -o, same URL' };

export const p1: Scenario = {
  id: 'P1',
  title: '`hearth pull` from the loopback fake hub, hashing included',
  rows: [
    { metric: 'pull time (throughput ratio)', unit: 'ms', hearth: 'hearth', baseline: CURL, compare: 'inverse', target: { op: '>=', value: 0.8 } },
    { metric: 'pull time less CLI start-up', unit: 'ms', hearth: 'hearthNet', baseline: CURL, compare: 'inverse', note: 'diagnostic' },
    { metric: 'pull vs physical limit', unit: 'ms', hearth: 'hearth', baseline: { key: 'limit', label: 'max(curl, sha256 from disk)' }, compare: 'inverse', target: { op: '>=', value: 0.9 } },
    // What the limit leaves out: receiving and hashing at once share the cores (and the hub's).
    { metric: 'pull vs a verified curl', unit: 'ms', hearth: 'hearth', baseline: { key: 'curlVerified', label: 'curl piped to tee and openssl sha256, same URL' }, compare: 'inverse', note: 'diagnostic' },
    { metric: 'pull, per-connection rate limit', unit: 'ms', hearth: 'hearthThrottled', baseline: { key: 'curlThrottled', label: 'curl -L -o, same throttle' }, compare: 'inverse', target: { op: '>=', value: 3 } },
    { metric: '/health p99 during a pull', unit: 'ms', hearth: 'healthP99', compare: 'value', target: { op: '<=', value: 5 } },
    { metric: '/health p50 during a pull', unit: 'ms', hearth: 'healthP50', compare: 'value' },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = { bytes: ctx.profile.pullBytes };
    const values: Record<string, Value> = {};
    const hub = await startHubProcess({ bytes: ctx.profile.pullBytes, repo: REPO, file: FILE });
    try {
      const race = await pullRace(ctx, { hubUrl: hub.url, repo: REPO, file: FILE, label: 'P1', sha256: true, verified: true });
      // The same CLI doing nothing: Node, tsx (with --entry src) and the command table.
      const startup = await attempt(() => cliStartupMs(ctx.options.entry));
      Object.assign(details, { curlMs: race.curl, sha256Ms: race.sha256Ms, hearthStartupMs: startup, order: race.order });
      values.curl = race.curl;
      values.curlVerified = race.curlVerified!;
      values.hearth = race.hearth;
      values.hearthNet = isNumber(race.hearth) && isNumber(startup) ? race.hearth - startup : race.hearth;
      // The physical limit: a verified pull beats neither moving the bytes (curl) nor hashing them.
      if (isNumber(race.curl) && race.sha256Ms !== undefined) {
        values.limit = Math.max(race.curl, race.sha256Ms);
        details.limitFrom = race.sha256Ms > race.curl ? 'sha256' : 'curl';
      } else values.limit = race.curl; // curl's failure says why there is no limit either
      Object.assign(values, await throttled(ctx, details).catch((error: unknown) => {
        const reason = unavailable(reasonOf(error)); // the second hub did not start: the other rows stand
        return { curlThrottled: reason, hearthThrottled: reason };
      }));
      Object.assign(values, await healthRows(ctx, hub.url, details));
      return { values, details };
    } finally {
      await hub.stop();
    }
  },
};

/** The race on a hub that paces each connection: hearth with its default connections, curl on one. */
async function throttled(ctx: RunContext, details: Record<string, unknown>): Promise<Record<string, Value>> {
  const { pullThrottledBytes: bytes, pullThrottleBytesPerSecond: rate, pullThrottledPieceBytes: piece } = ctx.profile;
  const hub = await startHubProcess({ bytes, repo: REPO, file: FILE, throttle: rate });
  try {
    const race = await pullRace(ctx, {
      hubUrl: hub.url,
      repo: REPO,
      file: FILE,
      label: 'P1 throttled',
      hearthEnv: piece === undefined ? {} : { HEARTH_PULL_PIECE_SIZE: String(piece) },
    });
    const { HEARTH_PULL_CONNECTIONS: connections, HEARTH_PULL_PIECE_SIZE: pieceSize } = race.env;
    details.throttled = {
      bytes,
      bytesPerSecondPerConnection: rate,
      curlMs: race.curl,
      order: race.order,
      // What hearth ran with: the environment it got, else its defaults.
      connections: connections === undefined ? DEFAULT_PULL_CONNECTIONS : Number(connections),
      pieceBytes: pieceSize === undefined ? DEFAULT_PULL_PIECE_BYTES : parseBytes(pieceSize),
      pieceSizeFrom: piece !== undefined ? `HEARTH_PULL_PIECE_SIZE, ${ctx.profile.name} profile` : pieceSize === undefined ? 'default' : 'HEARTH_PULL_PIECE_SIZE, caller environment',
    };
    return { curlThrottled: race.curl, hearthThrottled: race.hearth };
  } finally {
    await hub.stop();
  }
}

/** /health p99 and p50 while the server pulls the large file; a failed /health request fails the row. */
async function healthRows(ctx: RunContext, hubUrl: string, details: Record<string, unknown>): Promise<Record<string, Value>> {
  let health: PullHealth | undefined;
  const healthP99 = await attempt(async () => {
    health = await healthDuringPull(ctx, hubUrl, `hf:${REPO}/${FILE}`);
    details.healthDuringPull = health;
    if (health.errors > 0) throw new Error(`${health.errors} of ${health.samples} /health requests failed`);
    return health.p99Ms;
  });
  return { healthP99, healthP50: isNumber(healthP99) ? health!.p50Ms : healthP99 };
}
