import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The installed node-llama-cpp version, read without loading the package (it imports ~300 modules). */
export function bindingVersion(): string {
  // The package does not export its package.json; read it next to its entry point.
  const entry = require.resolve('node-llama-cpp');
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** The installed onnxruntime-node version, read without loading the native library. */
export function onnxRuntimeVersion(): string {
  return (require('onnxruntime-node/package.json') as { version: string }).version;
}
