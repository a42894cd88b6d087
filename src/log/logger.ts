import { pino, type Logger } from 'pino';

export type { Logger };

/** Library code logs through an injected pino logger; the CLI writes it to stderr so stdout stays machine-readable. */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: (destination as { fd?: number }).fd ?? 2, sync: true }));
}

/** A logger that drops everything, for library users who pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
