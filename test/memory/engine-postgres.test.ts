import { after } from 'node:test';
import { openPostgresEngine } from '../../src/memory/engine-postgres.js';
import { startPostgres } from '../support/postgres.js';
import { sqlEngineConformance } from '../support/sql-engine-conformance.js';

let stop: (() => Promise<void>) | undefined;
after(() => stop?.());

// The same suite as PGlite's, on a real Postgres with pgvector (started here; .ci/run installs it and requires it).
sqlEngineConformance('Postgres', async () => {
  const server = await startPostgres();
  if ('unavailable' in server) return server;
  stop = server.stop;
  return openPostgresEngine({ url: server.url });
});
