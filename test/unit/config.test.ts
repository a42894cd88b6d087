import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { loadConfig, type Env } from '../../src/config/load.js';
import { throwsCode } from '../support/assertions.js';

let tmp = '';
let counter = 0;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'hearth-config-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A fresh, empty directory inside the temp root. */
async function freshDir(): Promise<string> {
  const dir = join(tmp, `d${++counter}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * An env isolated from the real user: hearth home and HF home point into the
 * temp dir so no real config file or token is picked up.
 */
async function isolatedEnv(extra: Env = {}): Promise<Env> {
  const dir = await freshDir();
  return { HEARTH_HOME: join(dir, 'hearth'), HF_HOME: join(dir, 'hf'), ...extra };
}

async function writeJson(value: unknown): Promise<string> {
  const path = join(await freshDir(), 'config.json');
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

describe('loadConfig: defaults', () => {
  test('an isolated env yields the documented defaults', async () => {
    const env = await isolatedEnv();
    const config = loadConfig(env);
    assert.equal(config.home, env.HEARTH_HOME);
    assert.equal(config.endpoint, 'https://huggingface.co');
    assert.equal(config.token, undefined);
    assert.equal(config.offline, false);
    assert.deepEqual(config.aliases, {});
    assert.equal(config.logLevel, 'info');
    assert.deepEqual(config.pull, { retries: 5, timeout: 30_000, reserveBytes: 256 * 1024 * 1024, connections: 8, pieceBytes: 16 * 2 ** 20 });
    assert.deepEqual(config.server, {
      host: '127.0.0.1',
      port: 8434,
      corsOrigins: [],
      maxQueue: 512,
      bodyLimit: 16 * 1024 * 1024,
      autoPull: false,
      maxInputs: 2048,
      maxTokens: 4096,
      requestTimeout: 30_000,
      drainTimeout: 30_000,
      allowedHosts: [],
      logRequests: false,
    });
    assert.deepEqual(config.verify, { onLoad: 'auto', maxAge: 7 * 86_400_000 });
    assert.equal(config.logFormat, 'auto');
    assert.deepEqual(config.gc, { grace: 3_600_000 });
    assert.deepEqual(config.preload, []);
  });

  test('the returned object is frozen', async () => {
    const config = loadConfig(await isolatedEnv());
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { offline: boolean }).offline = true;
    }, TypeError);
    assert.equal(config.offline, false);
  });
});

describe('loadConfig: hub cache root', () => {
  test('HF_HUB_CACHE wins over HF_HOME and XDG_CACHE_HOME', async () => {
    const dir = await freshDir();
    const config = loadConfig(
      await isolatedEnv({ HF_HUB_CACHE: join(dir, 'explicit'), HF_HOME: join(dir, 'hf'), XDG_CACHE_HOME: join(dir, 'xdg') }),
    );
    assert.equal(config.hubCache, join(dir, 'explicit'));
  });

  test('HF_HUB_CACHE expands ~ with the HOME from env', async () => {
    const dir = await freshDir();
    const config = loadConfig(await isolatedEnv({ HOME: dir, HF_HUB_CACHE: '~/my-hub' }));
    assert.equal(config.hubCache, join(dir, 'my-hub'));
  });

  test('then $HF_HOME/hub, over XDG_CACHE_HOME', async () => {
    const dir = await freshDir();
    const config = loadConfig(await isolatedEnv({ HF_HOME: join(dir, 'hf'), XDG_CACHE_HOME: join(dir, 'xdg') }));
    assert.equal(config.hubCache, join(dir, 'hf', 'hub'));
  });

  test('then $XDG_CACHE_HOME/huggingface/hub', async () => {
    const dir = await freshDir();
    const config = loadConfig({ HEARTH_HOME: join(dir, 'hearth'), XDG_CACHE_HOME: join(dir, 'xdg') });
    assert.equal(config.hubCache, join(dir, 'xdg', 'huggingface', 'hub'));
  });

  test('then ~/.cache/huggingface/hub', async () => {
    const dir = await freshDir();
    const config = loadConfig({ HEARTH_HOME: join(dir, 'hearth') });
    assert.ok(config.hubCache.endsWith(join('.cache', 'huggingface', 'hub')), config.hubCache);
    assert.equal(config.hubCache, join(homedir(), '.cache', 'huggingface', 'hub'));
  });

  test('a hubCache in the config file is used unless HF_HUB_CACHE is set', async () => {
    const dir = await freshDir();
    const file = await writeJson({ hubCache: join(dir, 'from-file') });
    assert.equal(loadConfig(await isolatedEnv({ HEARTH_CONFIG: file })).hubCache, join(dir, 'from-file'));
    assert.equal(loadConfig(await isolatedEnv({ HEARTH_CONFIG: file, HF_HUB_CACHE: join(dir, 'env') })).hubCache, join(dir, 'env'));
  });
});

describe('loadConfig: offline', () => {
  for (const name of ['HEARTH_OFFLINE', 'HF_HUB_OFFLINE']) {
    for (const value of ['1', 'true', 'yes', 'TRUE', ' on ', 'y', 'Y', 'enable', 'Enabled']) {
      test(`${name}=${JSON.stringify(value)} sets offline`, async () => {
        assert.equal(loadConfig(await isolatedEnv({ [name]: value })).offline, true);
      });
    }
    for (const value of ['0', 'false', 'no', '', 'n', 'off', 'disable']) {
      test(`${name}=${JSON.stringify(value)} leaves offline false`, async () => {
        assert.equal(loadConfig(await isolatedEnv({ [name]: value })).offline, false);
      });
    }
    for (const value of ['maybe', '2', 'offline']) {
      test(`${name}=${JSON.stringify(value)} is refused, never read as online`, async () => {
        const error = throwsCode(() => loadConfig({ [name]: value, HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') }), 'CONFIG_INVALID');
        assert.match(error.message, new RegExp(name));
      });
    }
  }

  test('unset leaves offline false', async () => {
    assert.equal(loadConfig(await isolatedEnv()).offline, false);
  });
});

describe('loadConfig: endpoint', () => {
  test('HF_ENDPOINT trailing slashes are stripped', async () => {
    assert.equal(loadConfig(await isolatedEnv({ HF_ENDPOINT: 'https://hf-mirror.example.com/' })).endpoint, 'https://hf-mirror.example.com');
    assert.equal(loadConfig(await isolatedEnv({ HF_ENDPOINT: 'http://mirror.local:8080/hf//' })).endpoint, 'http://mirror.local:8080/hf');
  });

  for (const endpoint of ['ftp://x', 'not a url', 'file:///etc']) {
    test(`HF_ENDPOINT=${JSON.stringify(endpoint)} is CONFIG_INVALID naming the field`, async () => {
      const error = throwsCode(() => loadConfig({ HF_ENDPOINT: endpoint, HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') }), 'CONFIG_INVALID');
      assert.match(error.message, /endpoint/);
      assert.ok((error.details.problems as string[]).some((p) => p.startsWith('endpoint:')));
    });
  }
});

describe('loadConfig: token', () => {
  async function tokenSetup() {
    const dir = await freshDir();
    const hfHome = join(dir, 'hf');
    await mkdir(hfHome);
    await writeFile(join(hfHome, 'token'), 'hf_from_home\n');
    const tokenPath = join(dir, 'token-file');
    await writeFile(tokenPath, '  hf_from_path\n\n');
    return { dir, hfHome, tokenPath };
  }

  test('HF_TOKEN wins over HF_TOKEN_PATH and $HF_HOME/token', async () => {
    const { dir, hfHome, tokenPath } = await tokenSetup();
    const config = loadConfig({ HEARTH_HOME: join(dir, 'hearth'), HF_HOME: hfHome, HF_TOKEN_PATH: tokenPath, HF_TOKEN: 'hf_env' });
    assert.equal(config.token, 'hf_env');
  });

  test('else the HF_TOKEN_PATH file, trimmed', async () => {
    const { dir, hfHome, tokenPath } = await tokenSetup();
    const config = loadConfig({ HEARTH_HOME: join(dir, 'hearth'), HF_HOME: hfHome, HF_TOKEN_PATH: tokenPath });
    assert.equal(config.token, 'hf_from_path');
  });

  test('an empty HF_TOKEN does not count', async () => {
    const { dir, hfHome, tokenPath } = await tokenSetup();
    const config = loadConfig({ HEARTH_HOME: join(dir, 'hearth'), HF_HOME: hfHome, HF_TOKEN_PATH: tokenPath, HF_TOKEN: '' });
    assert.equal(config.token, 'hf_from_path');
  });

  test('else $HF_HOME/token, trimmed', async () => {
    const { dir, hfHome } = await tokenSetup();
    const config = loadConfig({ HEARTH_HOME: join(dir, 'hearth'), HF_HOME: hfHome });
    assert.equal(config.token, 'hf_from_home');
  });

  test('no token anywhere leaves token undefined; a blank token file counts as none', async () => {
    const env = await isolatedEnv();
    assert.equal(loadConfig(env).token, undefined);
    await mkdir(env.HF_HOME!, { recursive: true });
    await writeFile(join(env.HF_HOME!, 'token'), '  \n');
    assert.equal(loadConfig(env).token, undefined);
  });
});

describe('loadConfig: config file', () => {
  test('HEARTH_CONFIG sets aliases and pull.retries, keeping other pull defaults', async () => {
    const file = await writeJson({ aliases: { tiny: 'hf:a/b/c.gguf' }, pull: { retries: 2 } });
    const config = loadConfig(await isolatedEnv({ HEARTH_CONFIG: file }));
    assert.deepEqual(config.aliases, { tiny: 'hf:a/b/c.gguf' });
    assert.equal(config.pull.retries, 2);
    assert.equal(config.pull.timeout, 30_000);
  });

  test('$HEARTH_HOME/config.json is read when HEARTH_CONFIG is unset', async () => {
    const env = await isolatedEnv();
    await mkdir(env.HEARTH_HOME!, { recursive: true });
    await writeFile(join(env.HEARTH_HOME!, 'config.json'), JSON.stringify({ logLevel: 'debug', pull: { timeout: '5m' } }));
    const config = loadConfig(env);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.pull.timeout, 300_000);
  });

  test('env HEARTH_PULL_RETRIES overrides the file', async () => {
    const file = await writeJson({ pull: { retries: 2 } });
    const config = loadConfig(await isolatedEnv({ HEARTH_CONFIG: file, HEARTH_PULL_RETRIES: '7' }));
    assert.equal(config.pull.retries, 7);
  });

  test('env overrides file values for top-level fields too', async () => {
    const file = await writeJson({ endpoint: 'https://file.example.com', logLevel: 'warn' });
    const config = loadConfig(await isolatedEnv({ HEARTH_CONFIG: file, HF_ENDPOINT: 'https://env.example.com', HEARTH_LOG_LEVEL: 'error' }));
    assert.equal(config.endpoint, 'https://env.example.com');
    assert.equal(config.logLevel, 'error');
  });

  test('HEARTH_CONFIG pointing at a missing file is CONFIG_INVALID', async () => {
    const missing = join(await freshDir(), 'nope.json');
    const error = throwsCode(() => loadConfig({ HEARTH_CONFIG: missing, HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') }), 'CONFIG_INVALID');
    assert.equal(error.details.path, missing);
  });

  test('malformed JSON is CONFIG_INVALID and keeps the parse error as cause', async () => {
    const file = await writeJson('{ "aliases": ');
    const error = throwsCode(() => loadConfig({ HEARTH_CONFIG: file, HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') }), 'CONFIG_INVALID');
    assert.ok(error.cause instanceof SyntaxError);
  });

  test('a JSON array at the top level is CONFIG_INVALID', async () => {
    const file = await writeJson([1, 2]);
    throwsCode(() => loadConfig({ HEARTH_CONFIG: file, HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') }), 'CONFIG_INVALID');
  });

  test('a bad alias name is CONFIG_INVALID', async () => {
    const file = await writeJson({ aliases: { 'bad name': 'hf:a/b/c.gguf' } });
    const error = throwsCode(() => loadConfig({ HEARTH_CONFIG: file, HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') }), 'CONFIG_INVALID');
    assert.match(error.message, /aliases/);
  });

  test('a config file with a UTF-8 byte-order mark is read', async () => {
    const file = await writeJson(`\uFEFF${JSON.stringify({ aliases: { tiny: 'hf:a/b/c.gguf' } })}`);
    assert.deepEqual(loadConfig({ HEARTH_CONFIG: file, HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') }).aliases, { tiny: 'hf:a/b/c.gguf' });
  });

  test('an alias cycle is refused at start-up, naming the cycle', async () => {
    const file = await writeJson({ aliases: { a: 'b', b: 'c', c: 'a' } });
    const error = throwsCode(() => loadConfig({ HEARTH_CONFIG: file, HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') }), 'CONFIG_INVALID');
    assert.match(error.message, /alias cycle a -> b -> c -> a/);
    const self = await writeJson({ aliases: { me: 'me' } });
    throwsCode(() => loadConfig({ HEARTH_CONFIG: self, HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') }), 'CONFIG_INVALID');
  });

  test('a timeout of zero and an unholdable body limit are refused', async () => {
    const base = { HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') };
    for (const [name, value, key] of [
      ['HEARTH_PULL_TIMEOUT', '0', 'pull.timeout'],
      ['HEARTH_PULL_TIMEOUT', '-5s', 'pull.timeout'],
      ['HEARTH_REQUEST_TIMEOUT', '0', 'server.requestTimeout'],
      ['HEARTH_TUNE_BUDGET', '0', 'pool.tuneBudget'],
      ['HEARTH_BODY_LIMIT', '1TB', 'server.bodyLimit'],
      ['HEARTH_BODY_LIMIT', '0', 'server.bodyLimit'],
      ['HEARTH_MAX_INPUTS', '0', 'server.maxInputs'],
      ['HEARTH_VERIFY_ON_LOAD', 'sometimes', 'verify.onLoad'],
      ['HEARTH_LOG_FORMAT', 'xml', 'logFormat'],
    ] as const) {
      const error = throwsCode(() => loadConfig({ ...base, [name]: value }), 'CONFIG_INVALID');
      assert.ok(error.message.length > 0, `${name}=${value}`);
      assert.ok(error.message.includes(`${key}:`), `${name}=${value} names ${key}: ${error.message}`);
    }
    assert.equal(loadConfig({ ...base, HEARTH_BODY_LIMIT: '1GiB' }).server.bodyLimit, 2 ** 30);
  });

  test('out-of-range values are CONFIG_INVALID', async () => {
    throwsCode(() => loadConfig({ HEARTH_PULL_RETRIES: '21', HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') }), 'CONFIG_INVALID');
    throwsCode(() => loadConfig({ HEARTH_PORT: '70000', HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') }), 'CONFIG_INVALID');
    throwsCode(() => loadConfig({ HEARTH_PULL_TIMEOUT: 'soon', HEARTH_HOME: join(tmp, 'h'), HF_HOME: join(tmp, 'h') }), 'CONFIG_INVALID');
  });
});

describe('loadConfig: other env', () => {
  test('HEARTH_PRELOAD="a, b,,c" is split, trimmed and emptied of blanks', async () => {
    assert.deepEqual(loadConfig(await isolatedEnv({ HEARTH_PRELOAD: 'a, b,,c' })).preload, ['a', 'b', 'c']);
  });

  test('durations and numbers from env are parsed', async () => {
    const config = loadConfig(await isolatedEnv({ HEARTH_PULL_TIMEOUT: '1m30s', HEARTH_GC_GRACE: '10', HEARTH_PORT: '9000', HEARTH_HOST: '0.0.0.0' }));
    assert.equal(config.pull.timeout, 90_000);
    assert.equal(config.gc.grace, 10_000);
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(config.server.port, 9000);
  });
});

describe('parseDuration', () => {
  const cases: Array<[string | number, number]> = [
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['30s', 30_000],
    ['1d', 86_400_000],
    ['1.5h', 5_400_000],
    ['1m30s250ms', 90_250],
    ['-1m', -60_000],
    ['10', 10_000],
    [' 10 ', 10_000],
    ['0.5', 500],
    ['-1', -1000],
    [10, 10_000],
    [0, 0],
    [-1, -1000],
  ];
  for (const [input, ms] of cases) {
    test(`${JSON.stringify(input)} = ${ms}ms`, () => assert.equal(parseDuration(input), ms));
  }

  for (const input of ['abc', '', '5x', 'm', '5 m', '1h-30m', '--1m']) {
    test(`${JSON.stringify(input)} throws`, () => assert.throws(() => parseDuration(input), /invalid duration/));
  }

  test('non-finite numbers throw', () => {
    assert.throws(() => parseDuration(Number.NaN), /invalid duration/);
    assert.throws(() => parseDuration(Number.POSITIVE_INFINITY), /invalid duration/);
  });
});

describe('formatDuration', () => {
  const cases: Array<[number, string]> = [
    [0, '0ms'],
    [250, '250ms'],
    [1000, '1s'],
    [90_000, '90s'],
    [300_000, '5m'],
    [5_400_000, '90m'],
    [7_200_000, '2h'],
    [86_400_000, '24h'],
  ];
  for (const [ms, text] of cases) {
    test(`${ms}ms → ${text}`, () => assert.equal(formatDuration(ms), text));
  }

  test('round-trips through parseDuration for whole units', () => {
    for (const text of ['250ms', '45s', '5m', '3h']) assert.equal(formatDuration(parseDuration(text)), text);
  });
});
