import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { errorCodes } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { lockDataDir } from '../../src/memory/data-dir-lock.js';
import { writeBertOnnxFixture } from '../support/bert-onnx-fixture.js';
import { killStrays, runHearth, type CliResult, ENTRY } from '../support/hearth-cli.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

const exit = (code: keyof typeof errorCodes) => errorCodes[code].exit;
/** A document id as `hearth memory add` makes it: the path from the current folder, which children share with this process. */
const idOf = (path: string) => relative(process.cwd(), path).split(sep).join('/');
const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * `hearth` on a terminal: util-linux `script` gives it a pseudo-terminal for
 * stdin, stdout and stderr (merged into `stdout` here). `input` is typed in
 * at once; the terminal holds it until the command reads, so nothing waits on time.
 */
function runOnTerminal(args: string[], env: Record<string, string>, input: string): Promise<CliResult> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, '--import', 'tsx', ENTRY, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', SHELL: '/bin/sh', TERM: 'xterm', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (output.stdout += d));
  child.stderr.on('data', (d: Buffer) => (output.stderr += d));
  child.stdin.write(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      child.stdin.destroy();
      resolve({ code, signal, ...output });
    });
  });
}

describe('hearth memory', () => {
  let box: Sandbox;
  let model: string;
  let otherModel: string;
  let docs: string;
  let cat: string;
  let rates: string;
  let harbour: string;
  const env = () => box.env({ HEARTH_THREADS: '1' });
  const hearth = (...args: string[]) => runHearth(['memory', ...args], env());
  const ok = (r: CliResult) => assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const fails = (r: CliResult, code: keyof typeof errorCodes) => {
    assert.equal(r.code, exit(code), `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`error\\[${code}\\]`));
  };
  const documents = async (name: string) => {
    const listed = JSON.parse((await hearth('ls', '--json')).stdout) as Array<{ name: string; documents: number; chunks: number }>;
    return listed.find((c) => c.name === name);
  };

  before(async () => {
    box = await createSandbox();
    model = join(box.root, 'tiny-onnx');
    otherModel = join(box.root, 'tiny-onnx-cls');
    await writeBertOnnxFixture(model, { seed: 4 });
    await writeBertOnnxFixture(otherModel, { seed: 4, pooling: 'cls' });
    docs = join(box.root, 'docs');
    cat = join(docs, 'cat.txt');
    rates = join(docs, 'rates.txt');
    harbour = join(docs, 'sea', 'harbour.md');
    await mkdir(join(docs, 'sea'), { recursive: true });
    await mkdir(join(docs, '.git'), { recursive: true });
    await writeFile(cat, 'The cat sat on the mat.\n');
    await writeFile(rates, 'Stock markets fell after the central bank raised interest rates.\n');
    await writeFile(harbour, 'The harbour is full of boats, and the gulls circle the masts.\n');
    await writeFile(join(docs, 'photo.bin'), Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(64)]));
    await writeFile(join(docs, '.notes.txt'), 'a dot-file is left out\n');
    await writeFile(join(docs, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  });
  after(async () => {
    killStrays();
    await box.cleanup();
  });

  test("a subcommand's --help says what a collection is, and exits 0", async () => {
    const r = await hearth('add', '--help');
    ok(r);
    assert.match(r.stdout, /^Usage: hearth memory add \[options\] <name> \[paths\.\.\.\]/);
    assert.match(r.stdout.replace(/\s+/g, ' '), /A collection keeps documents as chunks of text with their vectors/);
    const stats = await hearth('stats', '--help');
    ok(stats);
    assert.match(stats.stdout.replace(/\s+/g, ' '), new RegExp(`${exit('SPACE_MISMATCH')} \\(SPACE_MISMATCH\\)`));
  });

  test('create prints one line: collection, space, dims, engine; it embeds, so it starts with the runtime environment', async () => {
    const r = await hearth('create', 'notes', '--model', model);
    ok(r);
    assert.equal(r.stdout, 'created collection notes: space notes, 32 dims, engine pglite\n');
    assert.doesNotMatch(r.stderr, /inference runs slower/);
    const ls = await hearth('ls');
    ok(ls);
    const [header, row, ...rest] = ls.stdout.trimEnd().split('\n');
    assert.deepEqual(header!.split(/\s{2,}/), ['NAME', 'SPACE', 'DIMS', 'DOCUMENTS', 'CHUNKS', 'INDEX']);
    assert.deepEqual(row!.split(/\s{2,}/), ['notes', 'notes', '32', '0', '0', 'exact']);
    assert.deepEqual(rest, []);
  });

  test('add a folder: its text files, not the binary one (skipped with a note), dot-files or dot-folders', async () => {
    const r = await hearth('add', 'notes', docs);
    ok(r);
    assert.equal(r.stdout, 'collection notes: added 3, unchanged 0, chunks 3, skipped 1\n');
    assert.match(r.stderr, new RegExp(`^skipped ${idOf(join(docs, 'photo.bin'))}: binary`, 'm'));
    assert.doesNotMatch(r.stderr, /inference runs slower/);
    assert.doesNotMatch(r.stderr, /adding \|/, 'no progress bar when stderr is not a terminal');
    assert.deepEqual(await documents('notes'), { name: 'notes', space: 'notes', dimensions: 32, indexState: 'exact', recall: null, documents: 3, chunks: 3, invalidVectors: 0 });
  });

  test('query finds the right file first; --json has the hits in full; --min-similarity and --filter narrow them', async () => {
    const r = await hearth('query', 'notes', 'The cat sat on the mat.');
    ok(r);
    const [header, first, ...rest] = r.stdout.trimEnd().split('\n');
    assert.deepEqual(header!.split(/\s{2,}/), ['SIMILARITY', 'DOC', 'CHUNK', 'TEXT']);
    assert.deepEqual(first!.split(/\s{2,}/), ['1.0000', idOf(cat), '0', 'The cat sat on the mat.']);
    assert.equal(rest.length, 2);

    const json = await hearth('query', 'notes', 'The cat sat on the mat.', '--json', '--top-k', '1');
    ok(json);
    const hits = JSON.parse(json.stdout) as Array<{ docId: string; chunk: number; text: string; similarity: number; metadata: Record<string, unknown> }>;
    assert.equal(hits.length, 1);
    assert.deepEqual({ ...hits[0], similarity: undefined }, { docId: idOf(cat), chunk: 0, text: 'The cat sat on the mat.', similarity: undefined, metadata: { path: idOf(cat) } });

    const close = await hearth('query', 'notes', 'The cat sat on the mat.', '--min-similarity', '0.99');
    ok(close);
    assert.equal(close.stdout.trimEnd().split('\n').length, 2, close.stdout);
    const filtered = await hearth('query', 'notes', 'The cat sat on the mat.', '--filter', JSON.stringify({ path: idOf(harbour) }));
    ok(filtered);
    assert.deepEqual(
      filtered.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s{2,}/)[1]),
      [idOf(harbour)],
    );
  });

  test('adding the same folder again embeds nothing: every document is unchanged', async () => {
    const r = await hearth('add', 'notes', docs, '--json');
    ok(r);
    assert.deepEqual(JSON.parse(r.stdout), {
      collection: 'notes',
      added: 0,
      unchanged: 3,
      chunks: 0,
      skipped: [{ document: idOf(join(docs, 'photo.bin')), reason: 'binary (a NUL byte in its first 8 KiB)' }],
    });
  });

  test('--text and stdin (-) add one document each, with --id and --metadata merged in', async () => {
    ok(await hearth('add', 'notes', '--text', 'Gulls nest on the cliffs above the harbour.', '--id', 'gulls', '--metadata', '{"kind": "bird"}'));
    const piped = await runHearth(['memory', 'add', 'notes', '-', '--metadata', '{"kind": "recipe"}'], env(), { input: 'Knead the dough for ten minutes.' });
    ok(piped);
    assert.equal(piped.stdout, 'collection notes: added 1, unchanged 0, chunks 1, skipped 0\n');
    const birds = JSON.parse((await hearth('query', 'notes', 'gulls', '--filter', '{"kind": "bird"}', '--json')).stdout) as Array<{ docId: string }>;
    assert.deepEqual(birds.map((h) => h.docId), ['gulls']);
    const recipes = JSON.parse((await hearth('query', 'notes', 'dough', '--filter', '{"kind": "recipe"}', '--json')).stdout) as Array<{ docId: string; metadata: unknown }>;
    assert.equal(recipes.length, 1);
    assert.match(recipes[0]!.docId, /^[0-9a-f]{64}$/, "stdin's id is its text's sha256");
    assert.equal((await documents('notes'))?.documents, 5);
  });

  test('stats: the counts and the verdict of the space on this runtime (identical, exit 0)', async () => {
    const r = await hearth('stats', 'notes');
    ok(r);
    for (const [label, value] of [
      ['collection', 'notes'],
      ['space', 'notes'],
      ['verdict', 'identical'],
      ['dims', '32'],
      ['documents', '5'],
      ['chunks', '5'],
      ['invalid vectors', '0'],
      ['index', 'exact'],
      ['engine', 'pglite'],
    ]) {
      assert.match(r.stdout, new RegExp(`^${label}\\s+${value}$`, 'm'));
    }
    assert.equal(r.stderr, '');
    const json = JSON.parse((await hearth('stats', 'notes', '--json')).stdout) as Record<string, unknown>;
    assert.deepEqual(json, { name: 'notes', space: 'notes', dimensions: 32, indexState: 'exact', recall: null, engine: 'pglite', documents: 5, chunks: 5, invalidVectors: 0, verdict: 'identical', reembedding: null, advice: null });
  });

  test('diagnose: the similarity distribution, and a hint when no chunk is close', async () => {
    const r = await hearth('diagnose', 'notes', 'The cat sat on the mat.');
    ok(r);
    assert.match(r.stdout, /^chunks\s+5$/m);
    assert.match(r.stdout, /^max\s+1\.0000$/m);
    assert.match(r.stdout, /^>= 0\.9\s+[1-5]$/m);
    assert.doesNotMatch(r.stdout, /hint/);

    // The opposite of the cat's vector: every chunk is at most as similar as the cat is dissimilar.
    const embedded = await runHearth(['embed', model, 'The cat sat on the mat.\n', '--full'], env());
    ok(embedded);
    const vector = (JSON.parse(embedded.stdout) as { embeddings: Array<{ vector: number[] }> }).embeddings[0]!.vector.map((x) => -x);
    const far = await hearth('diagnose', 'notes', '--vector', JSON.stringify(vector), '--json');
    ok(far);
    const distribution = JSON.parse(far.stdout) as { chunks: number; min: number; max: number; atLeast: Record<string, number>; hint?: string };
    assert.equal(distribution.chunks, 5);
    assert.ok(distribution.max < 0.3, String(distribution.max));
    assert.ok(Math.abs(distribution.min + 1) < 1e-4, String(distribution.min));
    assert.equal(distribution.atLeast['0.3'], 0);
    assert.equal(distribution.hint, "no chunk is close to this query: check the collection's space with hearth memory stats");
  });

  test('rm removes documents and says how many; the rest stay', async () => {
    const r = await hearth('rm', 'notes', idOf(cat), 'no-such-doc');
    ok(r);
    assert.equal(r.stdout, 'removed 1 document from notes (1 not found)\n');
    const hits = JSON.parse((await hearth('query', 'notes', 'The cat sat on the mat.', '--json')).stdout) as Array<{ docId: string }>;
    assert.equal(hits.length, 4);
    assert.ok(!hits.some((h) => h.docId === idOf(cat)));
  });

  test('a collection whose space this runtime cannot use: stats exits 65 with the verdict; add is refused', async () => {
    const file = join(box.root, 'notes.space.json');
    ok(await runHearth(['space', 'export', 'notes', '-o', file], env()));
    // The same space, pointed at a model that pools differently: the check judges it by what it makes here.
    ok(await runHearth(['space', 'import', file, '--name', 'moved', '--model', otherModel], env()));
    ok(await hearth('create', 'elsewhere', '--space', 'moved'));
    const stats = await hearth('stats', 'elsewhere');
    fails(stats, 'SPACE_MISMATCH');
    assert.match(stats.stdout, /^verdict\s+incompatible$/m);
    fails(await hearth('add', 'elsewhere', '--text', 'anything'), 'SPACE_MISMATCH');
    assert.equal((await documents('elsewhere'))?.documents, 0);
  });

  test('bad input: a typed error, its exit code, and nothing written', async () => {
    fails(await hearth('query', 'nope', 'text'), 'COLLECTION_NOT_FOUND');
    assert.equal(exit('COLLECTION_NOT_FOUND'), 66);
    fails(await hearth('add', 'nope', cat), 'COLLECTION_NOT_FOUND');
    fails(await hearth('create', '../etc', '--model', model), 'COLLECTION_NAME_INVALID');
    assert.equal(exit('COLLECTION_NAME_INVALID'), 64);
    fails(await hearth('create', 'neither'), 'USAGE');
    fails(await hearth('add', 'notes', '--text', ''), 'USAGE');
    fails(await hearth('add', 'notes', '--text', '   '), 'USAGE');
    fails(await hearth('add', 'notes', join(docs, 'missing.txt')), 'USAGE');
    fails(await hearth('add', 'notes', docs, '--id', 'one'), 'USAGE');
    fails(await hearth('add', 'notes', '--text', 'x', '--metadata', '[1, 2]'), 'USAGE');
    fails(await hearth('add', 'notes', '--text', 'x', '--metadata', '{"kind": '), 'USAGE');
    fails(await hearth('add', 'notes'), 'USAGE');
    fails(await hearth('query', 'notes', 'text', '--filter', '{not json'), 'USAGE');
    fails(await hearth('query', 'notes', 'text', '--top-k', '0'), 'USAGE');
    fails(await hearth('query', 'notes', 'text', '--min-similarity', '2'), 'USAGE');
    fails(await hearth('query', 'notes'), 'USAGE');
    fails(await hearth('query', 'notes', '--vector', '[1, 2, 3]'), 'VECTOR_INVALID');
    fails(await hearth('query', 'notes', '--vector', JSON.stringify(new Array(32).fill(0))), 'VECTOR_INVALID');
    assert.equal((await documents('notes'))?.documents, 4, 'nothing was added');
  });

  test('a second process on the embedded database: MEMORY_LOCKED (exit 75) with a hint', async () => {
    const unlock = await lockDataDir(join(box.home, 'memory'), silentLogger);
    try {
      const r = await hearth('ls');
      fails(r, 'MEMORY_LOCKED');
      assert.equal(exit('MEMORY_LOCKED'), 75);
      assert.match(r.stderr, /^ {2}hint: use the running server/m);
    } finally {
      await unlock();
    }
    ok(await hearth('ls'));
  });

  test('on a terminal, add shows a progress bar and drop asks first', { skip: HAS_SCRIPT ? false : 'needs util-linux script for a terminal' }, async () => {
    ok(await hearth('create', 'scratch', '--space', 'notes'));
    const added = await runOnTerminal(['memory', 'add', 'scratch', docs], env(), '');
    assert.equal(added.code, 0, added.stdout);
    assert.match(added.stdout, /adding \|.*\| 4\/4 documents, 3 chunks/);
    assert.match(added.stdout, /collection scratch: added 3, unchanged 0, chunks 3, skipped 1/);

    const kept = await runOnTerminal(['memory', 'drop', 'scratch'], env(), 'n\n');
    assert.equal(kept.code, 0, kept.stdout);
    assert.match(kept.stdout, /drop collection scratch: 3 documents, 3 chunks\? The space notes stays\. \[y\/N\]/);
    assert.match(kept.stdout, /kept collection scratch/);
    assert.equal((await documents('scratch'))?.documents, 3);

    const dropped = await runOnTerminal(['memory', 'drop', 'scratch'], env(), 'y\n');
    assert.equal(dropped.code, 0, dropped.stdout);
    assert.match(dropped.stdout, /dropped collection scratch/);
    assert.equal(await documents('scratch'), undefined);
  });

  test('drop without a terminal needs --yes (USAGE, nothing dropped); with it the collection is gone and its space stays', async () => {
    const refused = await hearth('drop', 'notes');
    fails(refused, 'USAGE');
    assert.match(refused.stderr, /hint: add --yes/);
    assert.equal((await documents('notes'))?.documents, 4);

    const r = await hearth('drop', 'notes', '--yes');
    ok(r);
    assert.equal(r.stdout, 'dropped collection notes\n');
    fails(await hearth('stats', 'notes'), 'COLLECTION_NOT_FOUND');
    ok(await runHearth(['space', 'show', 'notes'], env()));
    const again = await hearth('create', 'notes', '--model', model);
    fails(again, 'SPACE_EXISTS');
    assert.match(again.stderr, /hint: create the collection in it with --space notes/);
  });
});
