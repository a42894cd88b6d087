import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { discoverFiles } from '../../src/jobs/ingest/discover.js';
import { readSource } from '../../src/jobs/ingest/read-source.js';
import { writePdfFixture } from '../support/pdf-fixture.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

const unreadable = (where: RegExp) => (e: unknown) => isHearthError(e, 'SOURCE_UNREADABLE') && where.test((e as Error).message);

describe('ingestion sources: reading each format', () => {
  let box: Sandbox;
  const file = (name: string) => join(box.root, name);
  before(async () => {
    box = await createSandbox();
  });
  after(() => box.cleanup());

  test('text and markdown are one document each, keyed by path, with the format in the metadata', async () => {
    await writeFile(file('a.md'), '\uFEFF# Title\n\nBody about lighthouses.');
    const [doc] = await readSource(file('a.md'));
    assert.deepEqual(doc, { id: file('a.md'), text: '# Title\n\nBody about lighthouses.', metadata: { source: file('a.md'), format: 'markdown' } });
  });

  test('HTML becomes its visible text: no scripts, styles or URLs', async () => {
    await writeFile(file('p.html'), '<html><head><style>p{}</style><script>track()</script></head><body><h1>Ships</h1><p>Tall <a href="https://x.test/y">ships</a> sail.</p></body></html>');
    const [doc] = await readSource(file('p.html'));
    assert.match(doc!.text, /SHIPS/i);
    assert.match(doc!.text, /Tall ships sail\./);
    assert.doesNotMatch(doc!.text, /track|p\{\}|x\.test/);
  });

  test('JSON (one record or an array) and JSON Lines: a document per record, with its own id or its place', async () => {
    await writeFile(file('one.json'), JSON.stringify({ text: 'only one', metadata: { lang: 'en' } }));
    await writeFile(file('many.json'), JSON.stringify(['plain string', { id: 7, content: 'content field' }]));
    await writeFile(file('r.jsonl'), '{"id":"a","text":"first"}\n\n{"text":"third line","metadata":{"k":1}}\n');
    assert.deepEqual(await readSource(file('one.json')), [{ id: file('one.json'), text: 'only one', metadata: { lang: 'en', source: file('one.json'), format: 'json' } }]);
    assert.deepEqual((await readSource(file('many.json'))).map((d) => d.id), [`${file('many.json')}#[0]`, `${file('many.json')}#7`]);
    const lines = await readSource(file('r.jsonl'));
    assert.deepEqual(lines.map((d) => [d.id, d.text, d.metadata]), [
      [`${file('r.jsonl')}#a`, 'first', { source: file('r.jsonl'), format: 'jsonl', record: 'a' }],
      [`${file('r.jsonl')}#L3`, 'third line', { k: 1, source: file('r.jsonl'), format: 'jsonl', record: 'L3' }],
    ]);
  });

  test('PDF: the text layer of every page', async () => {
    await writePdfFixture(file('d.pdf'), ['Whales eat krill.', 'Second page about owls.']);
    const [doc] = await readSource(file('d.pdf'));
    assert.equal(doc!.text, 'Whales eat krill.\n\nSecond page about owls.');
    assert.equal(doc!.metadata!.format, 'pdf');
  });

  test('what cannot be read is SOURCE_UNREADABLE, saying what and where', async () => {
    await writeFile(file('bad.json'), '{"text": "cut');
    await writeFile(file('bad.jsonl'), '{"text":"ok"}\n{"text": nope}\n');
    await writeFile(file('notext.jsonl'), '{"title":"no text"}\n');
    await writeFile(file('twice.jsonl'), '{"id":"x","text":"a"}\n{"id":"x","text":"b"}\n');
    await writeFile(file('meta.json'), JSON.stringify([{ text: 'a', metadata: [1] }]));
    await writeFile(file('bin.txt'), Buffer.from([0x41, 0, 0x42]));
    await writeFile(file('blank.txt'), ' \n\t');
    await writeFile(file('broken.pdf'), '%PDF-1.4 not really');
    await writePdfFixture(file('scan.pdf'), ['']);
    const cases: Array<[string, RegExp]> = [
      ['bad.json', /is not JSON/],
      ['bad.jsonl', /line 2 is not JSON/],
      ['notext.jsonl', /record L1 has no "text"/],
      ['twice.jsonl', /id x appears twice/],
      ['meta.json', /record \[0\]: "metadata" must be an object/],
      ['bin.txt', /is binary/],
      ['blank.txt', /has no text/],
      ['broken.pdf', /is not a readable PDF/],
      ['scan.pdf', /1 page\(s\) but no text layer/],
      ['missing.txt', /cannot be read/],
    ];
    for (const [name, where] of cases) await assert.rejects(readSource(file(name)), unreadable(where), name);
  });
});

describe('ingestion sources: finding files', () => {
  let box: Sandbox;
  let docs: string;
  before(async () => {
    box = await createSandbox();
    docs = join(box.root, 'docs');
    await mkdir(join(docs, 'sub', '.hidden'), { recursive: true });
    await mkdir(join(box.root, 'outside'), { recursive: true });
    for (const name of ['a.txt', 'b.md', 'sub/c.jsonl', 'sub/d.PDF', 'sub/image.png', '.dot.txt', 'sub/.hidden/e.txt', 'notes.log']) await writeFile(join(docs, name), 'x');
    await writeFile(join(box.root, 'outside', 'secret.txt'), 'x');
    await symlink(join(box.root, 'outside', 'secret.txt'), join(docs, 'link.txt'));
  });
  after(() => box.cleanup());

  test('folders give the formats hearth reads, sorted, without dot-files; a file named on its own is taken whatever it is', async () => {
    assert.deepEqual(await discoverFiles(['docs'], { cwd: box.root }), ['a.txt', 'b.md', 'sub/c.jsonl', 'sub/d.PDF'].map((n) => join(docs, n)));
    assert.deepEqual(await discoverFiles(['docs/notes.log', 'docs/a.txt', 'docs'], { cwd: box.root }), ['a.txt', 'b.md', 'notes.log', 'sub/c.jsonl', 'sub/d.PDF'].map((n) => join(docs, n)));
  });

  test('globs, and paths that name nothing fail before anything is queued', async () => {
    assert.deepEqual(await discoverFiles(['docs/**/*.{md,jsonl}'], { cwd: box.root }), [join(docs, 'b.md'), join(docs, 'sub', 'c.jsonl')]);
    await assert.rejects(discoverFiles(['docs/**/*.csv'], { cwd: box.root }), (e: unknown) => isHearthError(e, 'USAGE') && /matches no file/.test((e as Error).message));
    await assert.rejects(discoverFiles(['nope'], { cwd: box.root }), (e: unknown) => isHearthError(e, 'USAGE') && /no such file or folder: nope/.test((e as Error).message));
    await assert.rejects(discoverFiles([], { cwd: box.root }), (e: unknown) => isHearthError(e, 'USAGE'));
  });

  test('with roots, nothing outside them is read, through a link either', async () => {
    assert.equal((await discoverFiles(['a.txt'], { cwd: docs, roots: [docs] })).length, 1);
    await assert.rejects(discoverFiles(['../outside/secret.txt'], { cwd: docs, roots: [docs] }), (e: unknown) => isHearthError(e, 'PATH_NOT_ALLOWED'));
    await assert.rejects(discoverFiles(['link.txt'], { cwd: docs, roots: [docs] }), (e: unknown) => isHearthError(e, 'PATH_NOT_ALLOWED'));
  });
});
