import { startPostgres, type PostgresServer } from '../../test/support/postgres.js';
import type { RunContext } from '../context.js';

/**
 * The Postgres the memory scenarios compare PGlite with: a throwaway cluster
 * with pgvector (test/support/postgres.ts: its own initdb on a loopback port,
 * fsync and synchronous_commit off, stopped and deleted when the harness
 * exits), started once per run. Without one, the Postgres rows say why.
 */
export type BenchPostgres = PostgresServer | { unavailable: string };

export function benchPostgres(ctx: RunContext): Promise<BenchPostgres> {
  return ctx.once('memory-postgres', async () => {
    // HEARTH_REQUIRE_POSTGRES makes a missing server a test failure; here it is a reported reason.
    const { HEARTH_REQUIRE_POSTGRES: _required, ...env } = process.env;
    try {
      const server = await startPostgres({ env });
      if ('unavailable' in server) ctx.log(`  Postgres unavailable: ${server.unavailable}`);
      else ctx.log(`  Postgres with pgvector on port ${server.port}`);
      return server;
    } catch (error) {
      return { unavailable: `Postgres did not start: ${(error as Error).message.split('\n')[0]}` };
    }
  });
}
