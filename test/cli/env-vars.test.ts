import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseBoolean } from '../../src/config/boolean.js';
import { parseBytes } from '../../src/config/bytes.js';
import { parseDuration } from '../../src/config/duration.js';
import { ENV_VARS } from '../../src/config/env-vars.js';
import { loadConfig } from '../../src/config/index.js';

const LOAD_SOURCE = readFileSync(new URL('../../src/config/load.ts', import.meta.url), 'utf8');
/** Every variable load.ts reads: `env.NAME` and the quoted names it looks up by list. HOME only expands "~". */
const readByLoad = new Set(
  [...LOAD_SOURCE.matchAll(/env\.([A-Z][A-Z0-9_]+)/g), ...LOAD_SOURCE.matchAll(/'((?:HEARTH|HF)_[A-Z0-9_]+)'/g)].map((m) => m[1]!).filter((name) => name !== 'HOME'),
);
const listed = new Set(ENV_VARS.flatMap((v) => v.names));

/** The value a literal default means, in every reading the config parsers allow. */
function readings(text: string): unknown[] {
  const attempts: Array<() => unknown> = [() => text, () => Number(text), () => parseDuration(text), () => parseBytes(text), () => parseBoolean(text)];
  return attempts.flatMap((attempt) => {
    try {
      return [attempt()];
    } catch {
      return [];
    }
  });
}

describe('the environment variable table', () => {
  test('lists every variable src/config/load.ts reads', () => {
    assert.ok(readByLoad.size > 30, `found only ${readByLoad.size} variables in load.ts`);
    for (const name of readByLoad) assert.ok(listed.has(name), `${name} is read by load.ts but missing from src/config/env-vars.ts`);
  });

  test('lists no variable that nothing reads', () => {
    for (const name of listed) assert.ok(readByLoad.has(name), `${name} is listed but load.ts does not read it`);
  });

  test("each literal default is the schema's default", () => {
    const config = loadConfig({ HOME: '/nonexistent', HEARTH_HOME: '/nonexistent/hearth', HF_HOME: '/nonexistent/hf' }) as unknown as Record<string, unknown>;
    let checked = 0;
    for (const row of ENV_VARS) {
      if (!row.key || /[\s$~]/.test(row.default) || row.default === 'measured') continue;
      const actual = row.key.split('.').reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], config);
      if (row.default === 'none') {
        assert.ok(actual === undefined || (Array.isArray(actual) && actual.length === 0), `${row.key}: default "none" but the schema gives ${JSON.stringify(actual)}`);
      } else {
        assert.ok(
          readings(row.default).some((value) => value === actual),
          `${row.names[0]}: the table says ${row.default}, the schema gives ${JSON.stringify(actual)}`,
        );
      }
      checked++;
    }
    assert.ok(checked > 25, `only ${checked} defaults checked`);
  });
});
