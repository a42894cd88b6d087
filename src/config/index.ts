export { loadConfig, type Env } from './load.js';
export { configSchema, type Config, type ConfigInput } from './schema.js';
export { parseDuration, formatDuration } from './duration.js';
export { parseBytes } from './bytes.js';
