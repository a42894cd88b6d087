import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** A real pino logger whose records are kept in memory, for tests that assert on warnings. */
export function captureLogger(level = 'debug'): { logger: Logger; records: Array<Record<string, unknown>>; messages: (level?: number) => string[] } {
  const records: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) records.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = pino({ level, base: undefined }, sink);
  return { logger, records, messages: (min = 40) => records.filter((r) => Number(r.level) >= min).map((r) => String(r.msg)) };
}
