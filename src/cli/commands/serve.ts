import { Command, Help } from 'commander';
import { isLoopbackHost } from '../../server/host-guard.js';
import { ENV_AREAS, envHelpItems, type EnvArea } from '../../config/env-vars.js';
import { HearthError } from '../../errors/index.js';
import { dropHeadStart } from '../../runtime/llama/head-start.js';
import type { CommandFactory } from '../command.js';

const CONFIG_HELP = [
  'Configuration is read once at start-up: defaults, then the config file, then the environment, then the flags above. ' +
    'An invalid value fails with CONFIG_INVALID (exit 78), naming the field.',
  'Config file: $HEARTH_CONFIG if set (the file must then exist), else $HEARTH_HOME/config.json if present ' +
    '(HEARTH_HOME defaults to ~/.hearth). It is a JSON object of the config keys listed below, for example:',
];
const CONFIG_EXAMPLE = '  {"server": {"port": 9000, "maxQueue": 64}, "aliases": {"minilm": "hf:owner/repo"}}';
const ENV_NOTE = 'Durations are written 30s, 5m, 1h30m, 250ms or in seconds; sizes in bytes or as 8GiB.';
const RELAUNCH_NOTE = 'serve runs with UV_THREADPOOL_SIZE=1 and GOMP_SPINCOUNT=10000 unless you set them. The installed hearth sets them first thing; run from source, it restarts itself with them, since both are read once, early.';

/** Where configuration comes from and every environment variable, wrapped to the terminal like commander's own lists. */
function configHelp(helper: Help): string {
  const width = helper.helpWidth ?? 80;
  const areas = Object.keys(ENV_AREAS) as EnvArea[];
  const termWidth = Math.max(...areas.flatMap((area) => envHelpItems(area).map((item) => item.term.length)));
  const sections = areas.map((area) =>
    [helper.styleTitle(`Environment (${ENV_AREAS[area]}):`), ...envHelpItems(area).map((item) => helper.formatItem(item.term, termWidth, item.description, helper))].join('\n'),
  );
  return ['', ...CONFIG_HELP.map((p) => helper.boxWrap(p, width)).join('\n\n').split('\n'), CONFIG_EXAMPLE, '', helper.boxWrap(ENV_NOTE, width), '', sections.join('\n\n'), '', helper.boxWrap(RELAUNCH_NOTE, width), ''].join('\n');
}

export const serveCommand: CommandFactory = (run) =>
  new Command('serve')
    .description('start the HTTP server: OpenAI- and Ollama-compatible APIs, health, readiness and metrics')
    .option('--host <host>', 'address to bind (default 127.0.0.1, or HEARTH_HOST)')
    .option('-p, --port <port>', 'port to bind (default 8434, or HEARTH_PORT)')
    .option('--insecure', 'allow binding a non-loopback address')
    // Appended inside formatHelp (not addHelpText) so it gets commander's wrapping at the terminal's width.
    .configureHelp({ formatHelp: (cmd, helper) => Help.prototype.formatHelp.call(helper, cmd, helper) + configHelp(helper) })
    .action(
      run(async (ctx, options: { host?: string; port?: string; insecure?: boolean }) => {
        const host = options.host ?? ctx.config.server.host;
        const port = options.port !== undefined ? Number(options.port) : ctx.config.server.port;
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new HearthError('USAGE', `invalid port ${options.port}`);
        if (!isLoopbackHost(host) && !options.insecure && !ctx.config.server.apiKey) {
          throw new HearthError('USAGE', `refusing to bind ${host}: it is not a loopback address and no API key is set`, {
            hint: 'set HEARTH_API_KEY (clients then send it as a bearer token), or pass --insecure',
          });
        }
        // A server logs requests at the configured level; other commands stay quiet.
        ctx.logger.level = ctx.config.logLevel;
        const pool = await ctx.pool();
        // The preloads' runtimes start first: llama.cpp checks its binary in a subprocess (~0.4 s on
        // 2 vCPUs), which then runs beside the HTTP stack's import instead of after it.
        await pool.prepare(ctx.config.preload);
        // Preloads start now, without blocking start-up; /ready reports them.
        const preloads = pool.preload(ctx.config.preload);
        // A llama.cpp runtime started ahead for a preload (serve-head-start.ts) that no load took is released.
        void preloads.then(() => dropHeadStart());
        // Loaded on demand: the other commands should not pay for Fastify at start-up.
        const { createServer } = await import('../../server/app.js');
        const server = await createServer({ config: ctx.config, store: ctx.store(), pool, logger: ctx.logger });
        const address = await server.app.listen({ host, port }).catch(async (error: unknown) => {
          await server.close();
          if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
          throw new HearthError('USAGE', `${host}:${port} is already in use`, { cause: error, hint: 'stop the other server, or pass --port (or set HEARTH_PORT)' });
        });
        // Spaces over warm models are checked before their first request asks (preload never throws).
        void preloads.then(() => server.checkPreloadedSpaces());
        ctx.stderr.write(`hearth listening on ${address} (cache ${ctx.config.hubCache}${ctx.config.offline ? ', offline' : ''})\n`);
        // SIGTERM or SIGINT: stop accepting, let in-flight requests finish (for at most the drain
        // time), then the context unloads the models. One Ctrl-C reaches a relaunched server twice
        // (from the terminal and from its launcher), so the second signal is not a second request;
        // a third ends what still runs at once.
        let signals = 0;
        const stop = (signal: NodeJS.Signals) => {
          signals++;
          if (signals === 1) {
            ctx.logger.info({ signal }, 'shutting down: draining in-flight requests');
            void server.close();
          } else if (signals === 2) ctx.logger.info({ signal }, 'already draining; send the signal again to end in-flight requests now');
          else server.hurry();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        try {
          await new Promise<void>((resolve) => server.app.server.once('close', () => resolve()));
          await server.close();
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      }),
    );
