import { z } from 'zod';
import { parseBytes } from './bytes.js';
import { parseDuration } from './duration.js';

/** A string-or-number field parsed by one of our parsers, whose message becomes the zod issue. */
function parsedWith<T>(parse: (value: string | number) => T) {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    try {
      return parse(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
}

const duration = parsedWith(parseDuration);
const bytes = parsedWith(parseBytes);

const bool = z.union([z.boolean(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'boolean') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(v)) return false;
  ctx.addIssue({ code: 'custom', message: `expected a boolean (1/0, true/false), got "${value}"` });
  return z.NEVER;
});

const aliasName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'alias names use letters, digits, ".", "_" and "-"');

/** The validated shape of hearth's configuration, after env and file are merged. */
export const configSchema = z.object({
  /** hearth's own state (registrations, verification records, quarantine). */
  home: z.string().min(1),
  /** Hugging Face hub cache root, shared with huggingface_hub and llama.cpp. */
  hubCache: z.string().min(1),
  endpoint: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')),
  token: z.string().min(1).optional(),
  offline: bool.default(false),
  aliases: z.record(aliasName, z.string().min(1)).default({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  pull: z
    .object({
      retries: z.coerce.number().int().min(0).max(20).default(5),
      /** Idle time without a byte from the hub before a request is retried. */
      timeout: duration.default(30_000),
      /** Extra free space kept on the disk beyond the file itself. */
      reserveBytes: z.coerce.number().int().min(0).default(256 * 1024 * 1024),
    })
    .default({ retries: 5, timeout: 30_000, reserveBytes: 256 * 1024 * 1024 }),
  gc: z.object({ grace: duration.default(3_600_000) }).default({ grace: 3_600_000 }),
  server: z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.coerce.number().int().min(0).max(65535).default(8434),
      /** Bearer token every route but /health requires; needed to bind a non-loopback address. */
      apiKey: z.string().min(8, 'use an API key of at least 8 characters').optional(),
      /** Allowed CORS origins; CORS stays off when empty. */
      corsOrigins: z.array(z.string().min(1)).default([]),
      /** Requests queued or running per model before 503. */
      maxQueue: z.coerce.number().int().min(1).default(512),
      bodyLimit: bytes.default(16 * 1024 * 1024),
      /** Pull unknown models on demand (only when online). */
      autoPull: bool.default(false),
    })
    .default({ host: '127.0.0.1', port: 8434, corsOrigins: [], maxQueue: 512, bodyLimit: 16 * 1024 * 1024, autoPull: false }),
  preload: z.array(z.string().min(1)).default([]),
  pool: z
    .object({
      maxLoaded: z.coerce.number().int().min(1).max(64).default(2),
      /** Bytes; unset means a safe share of the RAM available at start-up. */
      memoryBudget: bytes.optional(),
      keepAlive: duration.default(300_000),
      maxKeepAlive: duration.optional(),
      /** Fixed thread count; unset means measured per model and machine. */
      threads: z.coerce.number().int().min(1).max(1024).optional(),
      /** Parallel generation sequences per model. */
      numParallel: z.coerce.number().int().min(1).max(64).default(2),
      contextSize: z.coerce.number().int().min(16).optional(),
      device: z.enum(['auto', 'cpu', 'cuda', 'vulkan', 'metal']).default('auto'),
      /** Time the tuner may spend measuring one model. */
      tuneBudget: duration.default(4000),
      /** Padded tokens (rows × longest row) in one ONNX encoder inference. */
      encoderBatchTokens: z.coerce.number().int().min(16).default(512),
      /** Rows in one ONNX encoder inference. */
      encoderBatchRows: z.coerce.number().int().min(1).max(1024).default(32),
    })
    .default({ maxLoaded: 2, keepAlive: 300_000, numParallel: 2, device: 'auto', tuneBudget: 4000, encoderBatchTokens: 512, encoderBatchRows: 32 }),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
