import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cachedAutoDevice, gpuFingerprint, rememberAutoDevice } from '../../src/runtime/llama/device-probe.js';
import { bindingVersion } from '../../src/runtime/engine-versions.js';
import { createLlamaRuntime } from '../../src/runtime/llama/llama-runtime.js';
import { captureLogger } from '../support/capture-logger.js';

/** HEARTH_DEVICE=auto remembers what it resolved to, so a restart does not test every GPU binary again. */
describe('the auto device probe, kept between starts', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-probe-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the fingerprint moves with the binding and with the variables that pick devices', () => {
    const base = gpuFingerprint('3.0.0', {});
    assert.equal(gpuFingerprint('3.0.0', {}), base);
    assert.notEqual(gpuFingerprint('3.0.1', {}), base);
    assert.notEqual(gpuFingerprint('3.0.0', { CUDA_VISIBLE_DEVICES: '0' }), base);
    assert.equal(gpuFingerprint('3.0.0', { UNRELATED: 'x' }), base);
  });

  test('a record is used only under the fingerprint it was made with', async () => {
    const file = join(dir, 'record.json');
    await rememberAutoDevice(file, 'f1', 'vulkan');
    assert.equal(await cachedAutoDevice(file, 'f1'), 'vulkan');
    assert.equal(await cachedAutoDevice(file, 'f2'), undefined);
    await writeFile(file, '{"version":1,"fingerprint":"f1","device":"tpu"}');
    assert.equal(await cachedAutoDevice(file, 'f1'), undefined, 'an unknown device');
    await writeFile(file, 'not json');
    assert.equal(await cachedAutoDevice(file, 'f1'), undefined);
  });

  test('the first auto start records its device, and the next asks for it directly', async () => {
    const file = join(dir, 'llama-device.json');
    const first = await createLlamaRuntime('auto', captureLogger().logger, { probeFile: file });
    await first.dispose();
    const record = JSON.parse(await readFile(file, 'utf8')) as { device: string };
    assert.equal(record.device, first.device);
    const { logger, records } = captureLogger('debug');
    const second = await createLlamaRuntime('auto', logger, { probeFile: file });
    await second.dispose();
    assert.equal(second.device, first.device);
    assert.ok(records.some((r) => r.msg === 'HEARTH_DEVICE=auto: using the device found at an earlier start'), JSON.stringify(records.map((r) => r.msg)));
  });

  test('a recorded device that no longer starts falls back to probing, and the record is mended', async () => {
    const file = join(dir, 'stale.json');
    const { logger, messages } = captureLogger('debug');
    const probe = await createLlamaRuntime('auto', captureLogger().logger, {});
    const actual = probe.device;
    await probe.dispose();
    // A GPU this machine does not have (or, on a CUDA machine, one it has not got: Metal).
    const missing = actual === 'metal' ? 'cuda' : 'metal';
    await rememberAutoDevice(file, gpuFingerprint(bindingVersion()), missing);
    const runtime = await createLlamaRuntime('auto', logger, { probeFile: file });
    await runtime.dispose();
    assert.equal(runtime.device, actual);
    assert.ok(messages().some((m) => m.includes('no longer starts; probing again')), messages().join('\n'));
    assert.equal((JSON.parse(await readFile(file, 'utf8')) as { device: string }).device, actual);
  });
});
