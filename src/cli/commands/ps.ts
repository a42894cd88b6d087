import { Command } from 'commander';
import { isIP } from 'node:net';
import { HearthError } from '../../errors/index.js';
import type { CommandFactory } from '../command.js';
import { interruptSignal } from '../command.js';
import { formatBytes, formatUntil, table, writeJson } from '../format.js';

/** /api/ps is answered from memory; a server that takes longer than this is stuck, not busy. */
const REQUEST_TIMEOUT_MS = 30_000;
const START_HINT = 'start it with `hearth serve`, or point at it with --host/--port (or HEARTH_HOST/HEARTH_PORT)';

/** One entry of /api/ps, as much of it as this command reads; --json passes the server's objects through whole. */
interface LoadedModel {
  name: string;
  size?: number;
  digest?: string;
  expires_at?: string | null;
  runtime?: { device?: string; threads?: number; parallel?: number } | null;
}

interface PsOptions {
  host?: string;
  port?: string;
  json?: boolean;
}

export const psCommand: CommandFactory = (run) =>
  new Command('ps')
    .description('list the models a running hearth server has loaded (its /api/ps): size, device, threads × parallel, and when each unloads')
    .option('--host <host>', 'server address (default 127.0.0.1, or HEARTH_HOST)')
    .option('-p, --port <port>', 'server port (default 8434, or HEARTH_PORT)')
    .option('--json', "print the server's models array as JSON")
    .action(
      run(async (ctx, options: PsOptions) => {
        const port = options.port !== undefined ? Number(options.port) : ctx.config.server.port;
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new HearthError('USAGE', `invalid port ${options.port ?? port}`);
        const base = serverUrl(options.host ?? ctx.config.server.host, port);
        const interrupt = interruptSignal();
        try {
          const models = await fetchLoaded(base, ctx.config.server.apiKey, interrupt.signal);
          if (options.json) return writeJson(ctx.stdout, models);
          const now = Date.now();
          const rows = models.map((m) => [
            m.name,
            (m.digest ?? '').replace(/^sha256:/, '').slice(0, 12) || '-',
            formatBytes(m.size),
            m.runtime?.device ?? '-',
            String(m.runtime?.threads ?? '-'),
            String(m.runtime?.parallel ?? '-'),
            formatUntil(m.expires_at, now),
          ]);
          ctx.stdout.write(table(['NAME', 'ID', 'SIZE', 'DEVICE', 'THREADS', 'PARALLEL', 'UNTIL'], rows));
        } finally {
          interrupt.dispose();
        }
      }),
    );

/** A wildcard bind address is reached through loopback; an IPv6 literal needs brackets in a URL. */
function serverUrl(host: string, port: number): string {
  const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${isIP(target) === 6 ? `[${target}]` : target}:${port}`;
}

async function fetchLoaded(base: string, apiKey: string | undefined, signal: AbortSignal): Promise<LoadedModel[]> {
  const response = await fetch(`${base}/api/ps`, {
    headers: { accept: 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
  }).catch((error: unknown) => {
    // Ctrl-C stays an abort (exit 130); anything else means nothing usable is listening there.
    if (signal.aborted) throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000}s` : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new HearthError('SERVER_UNREACHABLE', `no hearth server at ${base} (${reason})`, { cause: error, details: { url: base }, hint: START_HINT });
  });
  if (response.status === 401) {
    throw new HearthError('UNAUTHORIZED', `the server at ${base} ${apiKey ? 'refused the API key' : 'requires an API key'}`, {
      details: { url: base },
      hint: "set HEARTH_API_KEY (or server.apiKey in the config file) to the server's key",
    });
  }
  const body = (await response.json().catch(() => undefined)) as { models?: unknown } | undefined;
  if (!response.ok || !Array.isArray(body?.models)) {
    throw new HearthError('SERVER_UNREACHABLE', `the server at ${base} answered GET /api/ps with HTTP ${response.status}${response.ok ? ' but no models list' : ''}`, {
      details: { url: base, status: response.status, body },
      hint: 'is that address a hearth server? ' + START_HINT,
    });
  }
  return body.models as LoadedModel[];
}
