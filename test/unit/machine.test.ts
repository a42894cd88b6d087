import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { defaultMemoryBudget, machineKey, memoryLimitBytes, readCgroupQuota, usableCpus } from '../../src/runtime/machine.js';

let tmp = '';
let counter = 0;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'hearth-machine-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Writes `content` to a fresh file in the temp dir and returns its path. */
async function fileWith(content: string): Promise<string> {
  const path = join(tmp, `f${++counter}`);
  await writeFile(path, content);
  return path;
}

const GiB = 2 ** 30;

describe('readCgroupQuota', () => {
  test('"max 100000" (no quota) is undefined', async () => {
    assert.equal(readCgroupQuota(await fileWith('max 100000\n')), undefined);
  });

  test('"200000 100000" is 2 CPUs', async () => {
    assert.equal(readCgroupQuota(await fileWith('200000 100000\n')), 2);
  });

  test('a fractional quota is floored: "150000 100000" is 1', async () => {
    assert.equal(readCgroupQuota(await fileWith('150000 100000\n')), 1);
  });

  test('a quota below one CPU still gives at least 1: "50000 100000"', async () => {
    assert.equal(readCgroupQuota(await fileWith('50000 100000\n')), 1);
  });

  test('a different period is honoured: "400000 50000" is 8', async () => {
    assert.equal(readCgroupQuota(await fileWith('400000 50000')), 8);
  });

  test('a missing file is undefined', () => {
    assert.equal(readCgroupQuota(join(tmp, 'does-not-exist')), undefined);
  });

  test('an empty file or a lone value is undefined', async () => {
    assert.equal(readCgroupQuota(await fileWith('')), undefined);
    assert.equal(readCgroupQuota(await fileWith('100000\n')), undefined);
  });

  test('malformed content is undefined, not NaN', async () => {
    assert.equal(readCgroupQuota(await fileWith('abc 100000')), undefined);
  });
});

describe('usableCpus', () => {
  test('is between 1 and os.availableParallelism() on this machine', () => {
    const n = usableCpus();
    assert.ok(Number.isInteger(n), `not an integer: ${n}`);
    assert.ok(n >= 1 && n <= availableParallelism(), `${n} outside 1..${availableParallelism()}`);
  });

  test('a one-CPU quota gives 1', async () => {
    assert.equal(usableCpus(await fileWith('100000 100000\n')), 1);
  });

  test('no quota gives os.availableParallelism()', async () => {
    assert.equal(usableCpus(await fileWith('max 100000\n')), availableParallelism());
    assert.equal(usableCpus(join(tmp, 'does-not-exist')), availableParallelism());
  });

  test('a quota above the scheduler view is capped at os.availableParallelism()', async () => {
    const generous = (availableParallelism() + 64) * 100_000;
    assert.equal(usableCpus(await fileWith(`${generous} 100000`)), availableParallelism());
  });

  test('a quota below the scheduler view wins', async () => {
    const expected = Math.max(1, availableParallelism() - 1);
    assert.equal(usableCpus(await fileWith(`${expected * 100_000} 100000`)), expected);
  });

  test('malformed content still gives an integer ≥ 1', async () => {
    const n = usableCpus(await fileWith('abc 100000'));
    assert.ok(Number.isInteger(n) && n >= 1, `got ${n}`);
  });
});

describe('memoryLimitBytes', () => {
  test('a cgroup limit is used, capped at the machine total', async () => {
    assert.equal(memoryLimitBytes(await fileWith('1073741824\n')), Math.min(GiB, totalmem()));
  });

  test('a limit above physical memory gives os.totalmem()', async () => {
    assert.equal(memoryLimitBytes(await fileWith(String(totalmem() * 4))), totalmem());
  });

  test('"max" gives os.totalmem()', async () => {
    assert.equal(memoryLimitBytes(await fileWith('max\n')), totalmem());
  });

  test('a missing file, 0 or garbage gives os.totalmem()', async () => {
    assert.equal(memoryLimitBytes(join(tmp, 'does-not-exist')), totalmem());
    assert.equal(memoryLimitBytes(await fileWith('0')), totalmem());
    assert.equal(memoryLimitBytes(await fileWith('lots')), totalmem());
  });
});

describe('defaultMemoryBudget', () => {
  test('is a positive integer below the machine total', () => {
    const budget = defaultMemoryBudget();
    assert.ok(Number.isInteger(budget), `not an integer: ${budget}`);
    assert.ok(budget > 0, `not positive: ${budget}`);
    assert.ok(budget < totalmem(), `${budget} ≥ totalmem ${totalmem()}`);
    assert.ok(budget <= memoryLimitBytes() * 0.75, `${budget} above 75% of the limit`);
  });
});

describe('machineKey', () => {
  test('is a stable 16-hex-digit key', () => {
    const key = machineKey('x');
    assert.match(key, /^[0-9a-f]{16}$/);
    assert.equal(machineKey('x'), key);
  });

  test('differs by engine build', () => {
    assert.notEqual(machineKey('x'), machineKey('y'));
    assert.notEqual(machineKey('build-1'), machineKey('build-2'));
  });
});
