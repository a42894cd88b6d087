import { pino, type DestinationStream, type Logger } from 'pino';
import { createRequire } from 'node:module';

export type { Logger };

/** `pretty` for a person at a terminal, `json` for log shippers; `auto` picks by whether the destination is a terminal. */
export type LogFormat = 'auto' | 'pretty' | 'json';

export interface LoggerOptions {
  format?: LogFormat;
}

/**
 * Library code logs through an injected pino logger; the CLI writes it to stderr so stdout stays machine-readable.
 * A destination with a file descriptor is written through it synchronously, so no line is lost when the process ends.
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr, options: LoggerOptions = {}): Logger {
  const format = resolveLogFormat(options.format ?? 'auto', destination);
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, format === 'pretty' ? prettyStream(destination) : jsonStream(destination));
}

/** What `auto` means for this destination: pretty on a terminal, JSON into a pipe or a file. */
export function resolveLogFormat(format: LogFormat, destination: NodeJS.WritableStream): 'pretty' | 'json' {
  if (format !== 'auto') return format;
  return (destination as { isTTY?: boolean }).isTTY === true ? 'pretty' : 'json';
}

function fdOf(destination: NodeJS.WritableStream): number | undefined {
  const fd = (destination as { fd?: unknown }).fd;
  return typeof fd === 'number' ? fd : undefined;
}

function jsonStream(destination: NodeJS.WritableStream): DestinationStream {
  const fd = fdOf(destination);
  return fd === undefined ? (destination as DestinationStream) : pino.destination({ dest: fd, sync: true });
}

/**
 * pino-pretty in this thread, as a stream, rather than as a pino transport: a transport runs in a worker
 * thread, whose last lines are lost when the process exits early, and which costs a thread per CLI run.
 */
function prettyStream(destination: NodeJS.WritableStream): DestinationStream {
  const fd = fdOf(destination);
  // tty.WriteStream.hasColors() honours NO_COLOR, FORCE_COLOR and TERM; a pipe or a file gets no escapes.
  const colorize = (destination as { hasColors?: () => boolean }).hasColors?.() ?? false;
  // Loaded only for a terminal: its ~280 module loads were a third of a cold `memory` open's imports.
  const pinoPretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pinoPretty({
    destination: fd ?? destination,
    sync: true,
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    singleLine: true,
  });
}

/** A logger that drops everything, for library users who pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
