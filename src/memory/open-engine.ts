import type { Config } from '../config/index.js';
import { redactUrl } from '../config/redact-url.js';
import { HearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { SqlEngine } from './engine.js';
import { openPgliteEngine } from './engine-pglite.js';
import { migrate, SCHEMA_VERSION, schemaVersion } from './migrations.js';

/**
 * The memory database the configuration names: Postgres at
 * HEARTH_DATABASE_URL, else PGlite in HEARTH_MEMORY_DIR. Brought to this
 * hearth's schema; a database a newer hearth has migrated is refused rather
 * than written with an older idea of its tables.
 */
export async function openMemoryEngine(config: Readonly<Config>, logger: Logger): Promise<SqlEngine> {
  const { databaseUrl, dataDir, durable } = config.memory;
  // The Postgres driver is loaded only for a Postgres database (about 250 modules with pg-copy-streams).
  const postgres = databaseUrl ? await import('./engine-postgres.js') : undefined;
  const engine = databaseUrl && postgres ? await postgres.openPostgresEngine({ url: databaseUrl }) : await openPgliteEngine({ dataDir, durable, logger });
  try {
    const found = await schemaVersion(engine);
    if (found > SCHEMA_VERSION) {
      throw new HearthError('DATABASE_UNAVAILABLE', `the memory database is at schema version ${found}, made by a newer hearth; this one knows up to ${SCHEMA_VERSION}`, {
        details: { found, known: SCHEMA_VERSION },
        hint: 'upgrade hearth, or point it at another database',
      });
    }
    const applied = await migrate(engine);
    if (applied.length > 0) logger.info({ engine: engine.kind, at: databaseUrl && postgres ? redactUrl(databaseUrl) : dataDir, applied }, 'memory schema migrated');
    return engine;
  } catch (error) {
    await engine.close().catch(() => undefined);
    throw error;
  }
}
