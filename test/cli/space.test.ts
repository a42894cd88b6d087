import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { errorCodes } from '../../src/errors/index.js';
import { decodeSpace, encodeSpace, PROBES, runtimeFingerprint, type CheckReport } from '../../src/spaces/index.js';
import { probesFingerprint } from '../../src/spaces/fingerprint.js';
import { killStrays, runHearth, type CliResult } from '../support/hearth-cli.js';
import { writeBertFixture } from '../support/gguf-fixtures.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

const exit = (code: keyof typeof errorCodes) => errorCodes[code].exit;

describe('hearth space', () => {
  let box: Sandbox;
  let bert: string;
  let bertCls: string;
  let spacesDir: string;
  const hearth = (...args: string[]) => runHearth(['space', ...args], box.env({ HEARTH_THREADS: '1' }));
  const ok = (r: CliResult) => assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const fails = (r: CliResult, code: keyof typeof errorCodes) => {
    assert.equal(r.code, exit(code), `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`error\\[${code}\\]`));
  };

  before(async () => {
    box = await createSandbox();
    bert = join(box.root, 'tiny-bert.gguf');
    bertCls = join(box.root, 'tiny-bert-cls.gguf');
    spacesDir = join(box.home, 'spaces');
    await writeBertFixture(bert, { seed: 2, context: 128 });
    await writeBertFixture(bertCls, { seed: 2, context: 128, pooling: 'cls' });
  });
  after(async () => {
    killStrays();
    await box.cleanup();
  });

  test("a subcommand's --help says what a space is, and exits 0", async () => {
    const r = await hearth('check', '--help');
    ok(r);
    assert.match(r.stdout, /^Usage: hearth space check \[options\] <name>/);
    assert.match(r.stdout.replace(/\s+/g, ' '), /An embedding space records the model and runtime that made a set of vectors/);
    assert.match(r.stdout.replace(/\s+/g, ' '), new RegExp(`${exit('SPACE_MISMATCH')} \\(SPACE_MISMATCH\\)`));
  });

  test('create prints one line; ls and show list it without its vectors', async () => {
    const created = await hearth('create', 'notes', '--model', bert);
    ok(created);
    const line = new RegExp(`^created space notes: model ${bert}, 64 dims, model fingerprint [0-9a-f]{12}, runtime fingerprint [0-9a-f]{12}, ${PROBES.length} probes\\n$`);
    assert.match(created.stdout, line);
    assert.doesNotMatch(created.stderr, /inference runs slower/, 'create embeds, so it starts with the runtime environment');

    const ls = await hearth('ls');
    ok(ls);
    const [header, row, ...rest] = ls.stdout.trimEnd().split('\n');
    assert.deepEqual(header!.split(/\s{2,}/), ['NAME', 'MODEL', 'DIMS', 'ENGINE', 'CPU VARIANT', 'CREATED']);
    const cells = row!.split(/\s{2,}/);
    assert.deepEqual(cells.slice(0, 4), ['notes', bert, '64', 'llama.cpp']);
    assert.notEqual(cells[4], '-', 'the CPU kernel variant that loaded');
    assert.deepEqual(rest, []);

    const show = await hearth('show', 'notes');
    ok(show);
    assert.match(show.stdout, /^model\.pooling\s+mean$/m);
    assert.match(show.stdout, /^runtime\.engine\s+llama\.cpp$/m);
    assert.match(show.stdout, /^fingerprints\.model\s+[0-9a-f]{64}$/m);
    const json = JSON.parse((await hearth('show', 'notes', '--json')).stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json).sort(), ['createdAt', 'fingerprints', 'format', 'model', 'name', 'probeSet', 'probes', 'runtime', 'version']);
    assert.equal(json.probes, PROBES.length);
  });

  test('check on the same runtime is identical (exit 0): the verdict first, then the probe stats and the time', async () => {
    const r = await hearth('check', 'notes');
    ok(r);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'identical');
    // The cosine of a vector with its own copy is 1 or one rounding below it (1.0000 or 0.9999999…, shown to 7 places).
    assert.match(r.stdout, new RegExp(`^probes: ${PROBES.length}, cosine min (?:1\\.0000|0\\.9999\\d{3}|1\\.0000000), mean [\\d.]+, p5 [\\d.]+; max abs diff \\S+; rank tau 1\\.0000; top-5 overlap 1\\.0000$`, 'm'));
    assert.match(r.stdout, /^diff: none/m);
    assert.match(r.stdout, /^checked in \d+ ms$/m);
    assert.equal(r.stderr, '');
  });

  test('check --model with another pooling is incompatible: the SPACE_MISMATCH exit code and the diff as a table', async () => {
    const r = await hearth('check', 'notes', '--model', bertCls);
    fails(r, 'SPACE_MISMATCH');
    assert.equal(r.stdout.split('\n')[0], 'incompatible');
    assert.match(r.stdout, /^FIELD\s+SPACE\s+HERE$/m);
    assert.match(r.stdout, /^model\.pooling\s+mean\s+cls$/m);
    assert.match(r.stdout, /^fingerprints: model differs .*, runtime same/m);
  });

  test('export to a file (never over one without --force), import under another name, and the copy checks identical', async () => {
    const file = join(box.root, 'notes.space.json');
    ok(await hearth('export', 'notes', '-o', file));
    const text = await readFile(file, 'utf8');
    const stdout = await hearth('export', 'notes');
    ok(stdout);
    assert.equal(stdout.stdout, text, 'the same JSON to stdout');

    await writeFile(file, 'keep me');
    fails(await hearth('export', 'notes', '-o', file), 'USAGE');
    assert.equal(await readFile(file, 'utf8'), 'keep me');
    ok(await hearth('export', 'notes', '-o', file, '--force'));
    assert.equal(await readFile(file, 'utf8'), text);

    const imported = await hearth('import', file, '--name', 'copy', '--json');
    ok(imported);
    const record = JSON.parse(imported.stdout) as { name: string; model: { ref: string }; probes: number };
    assert.deepEqual([record.name, record.model.ref, record.probes], ['copy', bert, PROBES.length]);

    const check = await hearth('check', 'copy', '--json');
    ok(check);
    const report = JSON.parse(check.stdout) as CheckReport;
    assert.equal(report.verdict, 'identical');
    assert.equal(report.space, 'copy');
    assert.equal(report.probes!.cosines.length, PROBES.length);
    assert.deepEqual(report.diff, []);
  });

  test('a space made by a runtime whose numbers differ slightly checks compatible: exit 0, a warning on stderr, the runtime diff', async () => {
    // What another machine's kernels make (measured: cosines ≥ 0.99998): every probe moved by ±3e-4 per coordinate, the file consistent.
    const record = decodeSpace(await readFile(join(spacesDir, 'notes.json'), 'utf8'), 'notes.json');
    const runtime = { ...record.runtime, cpuVariant: 'elsewhere' };
    const probeVectors = record.probeVectors.map((v) => v.map((x, j) => x + (j % 2 ? 3e-4 : -3e-4)));
    const fingerprints = { ...record.fingerprints, runtime: runtimeFingerprint(runtime), probes: probesFingerprint(record.probeSet, probeVectors) };
    const imported = await runHearth(['space', 'import', '-', '--name', 'elsewhere'], box.env(), { input: encodeSpace({ ...record, runtime, probeVectors, fingerprints }) });
    ok(imported);
    assert.match(imported.stdout, /^imported space elsewhere from stdin: /);

    const r = await hearth('check', 'elsewhere');
    ok(r);
    assert.equal(r.stdout.split('\n')[0], 'compatible');
    assert.match(r.stdout, /^runtime\.cpuVariant\s+elsewhere\s+\S+$/m);
    assert.match(r.stderr, /^warning: space elsewhere is compatible, not identical/m);
  });

  test('a tampered or truncated file is refused with SPACE_FILE_INVALID and nothing is stored', async () => {
    const text = await readFile(join(spacesDir, 'notes.json'), 'utf8');
    const json = JSON.parse(text) as { model: Record<string, unknown> };
    const tampered = join(box.root, 'tampered.json');
    const truncated = join(box.root, 'truncated.json');
    await writeFile(tampered, JSON.stringify({ ...json, model: { ...json.model, pooling: 'cls' } }));
    await writeFile(truncated, text.slice(0, Math.floor(text.length / 2)));
    const before = (await readdir(spacesDir)).sort();

    const edited = await hearth('import', tampered, '--name', 'bad');
    fails(edited, 'SPACE_FILE_INVALID');
    assert.match(edited.stderr, /model fingerprint does not match its content/);
    fails(await hearth('import', truncated, '--name', 'bad'), 'SPACE_FILE_INVALID');
    assert.deepEqual((await readdir(spacesDir)).sort(), before);
  });

  test('a bad name is exit 64, an unknown space exit 66; a damaged file is listed with its error code', async () => {
    fails(await hearth('create', '../etc', '--model', bert), 'SPACE_NAME_INVALID');
    assert.equal(exit('SPACE_NAME_INVALID'), 64);
    const usage = await hearth('create', 'no-model');
    assert.equal(usage.code, 64, `a subcommand's usage error is 64 like any command's\n${usage.stderr}`);
    assert.match(usage.stderr, /--model/);
    fails(await hearth('check', 'nope'), 'SPACE_NOT_FOUND');
    assert.equal(exit('SPACE_NOT_FOUND'), 66);

    await writeFile(join(spacesDir, 'broken.json'), '{"format": "hearth-sp');
    const ls = await hearth('ls');
    ok(ls);
    assert.match(ls.stdout, /^broken\s+error\[SPACE_FILE_INVALID\]/m);
    assert.match(ls.stdout, /^notes\s/m);
    assert.match(ls.stderr, /^warning: space broken: error\[SPACE_FILE_INVALID\]/m);
    const listed = JSON.parse((await hearth('ls', '--json')).stdout) as Array<{ name: string; error?: { code: string } }>;
    assert.deepEqual(
      listed.map((l) => [l.name, l.error?.code]),
      [
        ['broken', 'SPACE_FILE_INVALID'],
        ['copy', undefined],
        ['elsewhere', undefined],
        ['notes', undefined],
      ],
    );
  });

  test('rm removes a space; then it is unknown', async () => {
    const r = await hearth('rm', 'copy');
    ok(r);
    assert.equal(r.stdout, 'removed space copy\n');
    fails(await hearth('show', 'copy'), 'SPACE_NOT_FOUND');
  });
});
