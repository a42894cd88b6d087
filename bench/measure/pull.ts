import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../../src/store/digest.js';
import type { RunContext } from '../context.js';
import { untamedEnv } from '../env.js';
import { hearthCommand } from '../hearth/hearth-server.js';
import { timed } from '../proc/timed.js';
import { attempt, type Value } from '../scenario.js';

/**
 * `hearth pull` of one file against `curl -L -o` of the same URL, both whole
 * processes timed from spawn to exit. Which goes first alternates between
 * repeats, so neither always gets the warmer page cache or the quieter CPU.
 */
export interface PullRaceOptions {
  hubUrl: string;
  repo: string;
  file: string;
  /** Progress label and scratch-directory name. */
  label: string;
  /** Variables added to hearth's environment (a piece size, say); the rest is the caller's environment. */
  hearthEnv?: Record<string, string>;
  /** Also time sha256 of curl's copy from disk, in this process: the floor hashing sets. */
  sha256?: boolean;
  /**
   * Also time `curl | tee file | openssl dgst -sha256`: standard tools doing what a verified pull
   * does, receiving, writing and hashing at once on the same cores. OpenSSL, not coreutils'
   * sha256sum, which has no SHA extensions (1.18 s against 0.30 s for 384 MiB here).
   */
  verified?: boolean;
}

export interface PullRace {
  curl: Value;
  hearth: Value;
  sha256Ms?: number;
  /** `curl | tee file | openssl dgst -sha256`, when asked for. */
  curlVerified?: Value;
  order: string;
  /** The environment hearth ran with, so the caller can say which pull settings it measured. */
  env: Record<string, string>;
}

export async function pullRace(ctx: RunContext, options: PullRaceOptions): Promise<PullRace> {
  const dir = await ctx.tempDir(options.label.toLowerCase().replace(/[^a-z0-9]+/g, '-'));
  const url = `${options.hubUrl}/${options.repo}/resolve/main/${options.file}`;
  const home = join(dir, 'home');
  const env = untamedEnv(process.env, {
    HEARTH_HOME: home,
    HF_HUB_CACHE: join(home, 'hub'),
    HF_HOME: join(home, 'hf'),
    HF_ENDPOINT: options.hubUrl,
    HEARTH_DISK_RESERVE: '0',
    ...options.hearthEnv,
  });
  let sha256Ms: number | undefined;
  const runCurl = () =>
    attempt(async () => {
      ctx.log(`  ${options.label}: curl`);
      const out = join(dir, 'curl.out');
      const ms = await timed('curl', ['-sS', '-f', '-L', '-o', out, url], untamedEnv());
      if (options.sha256) sha256Ms = await timeSha256(out);
      await rm(out, { force: true });
      return ms;
    });
  const runHearth = () =>
    attempt(async () => {
      ctx.log(`  ${options.label}: hearth pull`);
      const ms = await timed(process.execPath, [...hearthCommand(ctx.options.entry), 'pull', `hf:${options.repo}/${options.file}`], env);
      await rm(home, { recursive: true, force: true });
      return ms;
    });
  const runVerified = () =>
    attempt(async () => {
      ctx.log(`  ${options.label}: curl | tee | openssl dgst -sha256`);
      const out = join(dir, 'verified.out');
      // pipefail: a failed transfer fails the row instead of timing sha256sum of nothing.
      const ms = await timed('bash', ['-c', 'set -o pipefail; curl -sS -f -L "$1" | tee "$2" | openssl dgst -sha256 >/dev/null', 'verified', url, out], untamedEnv());
      await rm(out, { force: true });
      return ms;
    });
  const curlFirst = ctx.repeat % 2 === 0;
  const first = curlFirst ? await runCurl() : await runHearth();
  const second = curlFirst ? await runHearth() : await runCurl();
  // Last in every repeat: by then the hub's file is in the page cache, as it is for whichever of the two ran second.
  const curlVerified = options.verified ? await runVerified() : undefined;
  return {
    curl: curlFirst ? first : second,
    hearth: curlFirst ? second : first,
    sha256Ms,
    curlVerified,
    order: curlFirst ? 'curl, hearth' : 'hearth, curl',
    env,
  };
}

async function timeSha256(path: string): Promise<number> {
  const start = performance.now();
  await sha256File(path); // the store's own file hash: the digest hearth pull computes, from the page cache
  return performance.now() - start;
}
