import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { throwsCode } from '../support/assertions.js';
import { assertSafeRepoPath, assertSafeRevision, isCommitHash, parseRef } from '../../src/store/ref.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const SHA256 = 'a'.repeat(64);

describe('parseRef: hub file refs', () => {
  test('hf:owner/repo/path/file.gguf is an hf-file at revision main', () => {
    assert.deepEqual(parseRef('hf:owner/repo/path/file.gguf'), {
      kind: 'hf-file',
      repo: 'owner/repo',
      path: 'path/file.gguf',
      revision: 'main',
      text: 'hf:owner/repo/path/file.gguf',
    });
  });

  test('an explicit @main is dropped from the canonical text', () => {
    const ref = parseRef('hf:owner/repo/file.gguf@main');
    assert.equal(ref.text, 'hf:owner/repo/file.gguf');
    assert.equal(ref.kind === 'hf-file' && ref.revision, 'main');
  });

  test('@rev suffix sets the revision and stays in the canonical text', () => {
    assert.deepEqual(parseRef('hf:owner/repo/dir/file.gguf@v1.2'), {
      kind: 'hf-file',
      repo: 'owner/repo',
      path: 'dir/file.gguf',
      revision: 'v1.2',
      text: 'hf:owner/repo/dir/file.gguf@v1.2',
    });
  });

  test('refs/pr/1 style revisions are accepted', () => {
    const ref = parseRef('hf:owner/repo/file.gguf@refs/pr/1');
    assert.equal(ref.kind, 'hf-file');
    assert.ok(ref.kind === 'hf-file');
    assert.equal(ref.path, 'file.gguf');
    assert.equal(ref.revision, 'refs/pr/1');
    assert.equal(ref.text, 'hf:owner/repo/file.gguf@refs/pr/1');
  });

  test('a 40-hex commit revision is kept verbatim', () => {
    const ref = parseRef(`hf:owner/repo/file.gguf@${COMMIT}`);
    assert.ok(ref.kind === 'hf-file');
    assert.equal(ref.revision, COMMIT);
    assert.equal(ref.text, `hf:owner/repo/file.gguf@${COMMIT}`);
  });

  test('hf.co/ and huggingface.co/ prefixes canonicalize to hf:', () => {
    assert.equal(parseRef('hf.co/owner/repo/file.gguf').text, 'hf:owner/repo/file.gguf');
    assert.equal(parseRef('huggingface.co/owner/repo/file.gguf').text, 'hf:owner/repo/file.gguf');
  });
});

describe('parseRef: hub quant and repo refs', () => {
  test('hf:owner/repo:Q4_K_M is an hf-quant', () => {
    assert.deepEqual(parseRef('hf:owner/repo:Q4_K_M'), {
      kind: 'hf-quant',
      repo: 'owner/repo',
      quant: 'Q4_K_M',
      revision: 'main',
      text: 'hf:owner/repo:Q4_K_M',
    });
  });

  test('hf:owner/repo:Q4_K_M@v1 carries the revision', () => {
    assert.deepEqual(parseRef('hf:owner/repo:Q4_K_M@v1'), {
      kind: 'hf-quant',
      repo: 'owner/repo',
      quant: 'Q4_K_M',
      revision: 'v1',
      text: 'hf:owner/repo:Q4_K_M@v1',
    });
  });

  test('hf.co/owner/repo:Q8_0 (Ollama spelling) is an hf-quant with hf: canonical text', () => {
    assert.deepEqual(parseRef('hf.co/owner/repo:Q8_0'), {
      kind: 'hf-quant',
      repo: 'owner/repo',
      quant: 'Q8_0',
      revision: 'main',
      text: 'hf:owner/repo:Q8_0',
    });
  });

  test('hf:owner/repo is an hf-repo', () => {
    assert.deepEqual(parseRef('hf:owner/repo'), { kind: 'hf-repo', repo: 'owner/repo', revision: 'main', text: 'hf:owner/repo' });
    assert.deepEqual(parseRef('hf:owner/repo@dev'), { kind: 'hf-repo', repo: 'owner/repo', revision: 'dev', text: 'hf:owner/repo@dev' });
  });

  test('an ONNX variant is a :tag like a quant (hf-quant), in transformers.js and sentence-transformers spellings', () => {
    for (const tag of ['fp16', 'q8', 'quantized', 'q4f16', 'qint8_avx512', 'O3']) {
      assert.deepEqual(parseRef(`hf:owner/repo:${tag}@${COMMIT}`), { kind: 'hf-quant', repo: 'owner/repo', quant: tag, revision: COMMIT, text: `hf:owner/repo:${tag}@${COMMIT}` });
    }
  });

  test('hf.co/owner/repo without a tag is the whole-repo ref too', () => {
    assert.deepEqual(parseRef('hf.co/owner/repo'), { kind: 'hf-repo', repo: 'owner/repo', revision: 'main', text: 'hf:owner/repo' });
  });

  test('the hints name every hub form, the whole-repo one and ONNX variants included', () => {
    const both = throwsCode(() => parseRef('hf:owner/repo:fp16/onnx/model.onnx'), 'REF_INVALID');
    assert.match(both.message, /ONNX variant/);
    assert.match(both.hint ?? '', /hf:owner\/repo for the whole model/);
    const bad = throwsCode(() => parseRef('hf:owner/repo:fp 16'), 'REF_INVALID');
    assert.match(bad.hint ?? '', /fp16, q8/);
    const unknown = throwsCode(() => parseRef('not a ref at all'), 'REF_INVALID');
    assert.match(unknown.hint ?? '', /hf:<owner>\/<repo>\[@<revision>\] \(the whole model/);
    assert.match(unknown.hint ?? '', /local file or directory/);
  });

  test('a quant tag together with a file path is REF_INVALID', () => {
    throwsCode(() => parseRef('hf:owner/repo:Q4_K_M/file.gguf'), 'REF_INVALID');
    throwsCode(() => parseRef('hf:owner/repo:Q4:Q5'), 'REF_INVALID');
  });

  test('a quant tag with illegal characters is REF_INVALID', () => {
    throwsCode(() => parseRef('hf:owner/repo:Q4 K'), 'REF_INVALID');
    throwsCode(() => parseRef('hf:owner/repo:'), 'REF_INVALID');
  });
});

describe('parseRef: unsafe refs are refused with REF_UNSAFE', () => {
  const unsafeRefs = [
    'hf:owner/repo/../../etc/passwd',
    'hf:owner/repo/a/./b',
    'hf:owner/repo//etc/passwd',
    'hf:owner/repo/dir/',
    'hf:/etc/passwd',
    'hf:../x/y.gguf',
    'hf:./x/y.gguf',
    'hf:owner/../y.gguf',
    'hf:owner/repo/C:/windows/x.gguf',
    'hf:owner/repo/f.gguf@../../x',
    'hf:owner/repo/f.gguf@refs/../../x',
    'hf:owner/repo/f.gguf@',
    'hf:owner/repo/a\0b',
    'hf:owner/repo/f.gguf@ma\0in',
    '\0hf:owner/repo/f.gguf',
    'https://example.com/a\0.gguf',
    'hf:owner/repo/a\\..\\b',
  ];
  for (const ref of unsafeRefs) {
    test(`refuses ${JSON.stringify(ref)}`, () => {
      const error = throwsCode(() => parseRef(ref), 'REF_UNSAFE');
      assert.equal(error.details.ref, ref);
    });
  }
});

describe('parseRef: invalid refs', () => {
  for (const ref of ['hf:own er/repo/f', 'hf:a--b/c/f', 'hf:owner/re..po/f', 'hf:-owner/repo/f', `hf:owner/${'r'.repeat(97)}/f`]) {
    test(`invalid repo id ${JSON.stringify(ref)} is REF_INVALID`, () => {
      throwsCode(() => parseRef(ref), 'REF_INVALID');
    });
  }

  test('an unrecognized ref is REF_INVALID with a hint', () => {
    const error = throwsCode(() => parseRef('not a ref at all'), 'REF_INVALID');
    assert.match(error.hint ?? '', /hf:<owner>\/<repo>/);
    assert.deepEqual(error.details, { ref: 'not a ref at all' });
  });

  test('a bare name that is not an existing file is not taken as a local path', () => {
    throwsCode(() => parseRef('no-such-model-file-7f3a.gguf'), 'REF_INVALID');
  });
});

describe('parseRef: URLs', () => {
  test('an https URL is a url ref without a pin', () => {
    assert.deepEqual(parseRef('https://example.com/m/model.gguf'), {
      kind: 'url',
      url: 'https://example.com/m/model.gguf',
      sha256: undefined,
      text: 'https://example.com/m/model.gguf',
    });
  });

  test('#sha256=<64 hex> pins the content (hex is lowercased)', () => {
    const ref = parseRef(`https://example.com/m/model.gguf#sha256=${SHA256.toUpperCase()}`);
    assert.deepEqual(ref, {
      kind: 'url',
      url: 'https://example.com/m/model.gguf',
      sha256: SHA256,
      text: `https://example.com/m/model.gguf#sha256=${SHA256}`,
    });
  });

  test('any other fragment is REF_INVALID', () => {
    throwsCode(() => parseRef('https://example.com/m/model.gguf#part2'), 'REF_INVALID');
    throwsCode(() => parseRef(`https://example.com/m/model.gguf#sha256=${'a'.repeat(63)}`), 'REF_INVALID');
    throwsCode(() => parseRef(`https://example.com/m/model.gguf#sha256=${'g'.repeat(64)}`), 'REF_INVALID');
  });

  test('an unparsable URL is REF_INVALID', () => {
    throwsCode(() => parseRef('https://exa mple.com/x.gguf'), 'REF_INVALID');
  });
});

describe('parseRef: local paths', () => {
  test('an absolute path is a local ref', () => {
    const path = join(tmpdir(), 'models', 'x.gguf');
    assert.deepEqual(parseRef(path), { kind: 'local', path, text: path });
  });

  test('./rel and ../rel are resolved to absolute paths', () => {
    assert.deepEqual(parseRef('./models/x.gguf'), { kind: 'local', path: resolve('models/x.gguf'), text: resolve('models/x.gguf') });
    const up = parseRef('../x.gguf');
    assert.ok(up.kind === 'local');
    assert.equal(up.path, resolve('..', 'x.gguf'));
  });

  test('~/ expands to the home directory', () => {
    const ref = parseRef('~/models/x.gguf');
    assert.ok(ref.kind === 'local');
    assert.equal(ref.path, join(homedir(), 'models', 'x.gguf'));
  });

  test('file: URLs become local paths', () => {
    const ref = parseRef('file:///srv/models/x.gguf');
    assert.ok(ref.kind === 'local');
    assert.equal(ref.path, '/srv/models/x.gguf');
  });

  test('an existing relative file name is a local ref', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-ref-'));
    const cwd = process.cwd();
    try {
      await writeFile(join(dir, 'model.gguf'), 'x');
      process.chdir(dir);
      const ref = parseRef('model.gguf');
      assert.ok(ref.kind === 'local');
      assert.equal(ref.path, join(process.cwd(), 'model.gguf'));
    } finally {
      process.chdir(cwd);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a directory is a local ref like a file; a file: URL to one loses its trailing slash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-ref-'));
    const cwd = process.cwd();
    try {
      await mkdir(join(dir, 'minilm'));
      assert.deepEqual(parseRef(`file://${dir}/minilm/`), { kind: 'local', path: join(dir, 'minilm'), text: join(dir, 'minilm') });
      process.chdir(dir);
      assert.deepEqual(parseRef('./minilm/'), { kind: 'local', path: join(process.cwd(), 'minilm'), text: join(process.cwd(), 'minilm') });
      assert.equal(parseRef('minilm').kind, 'local', 'an existing directory name is a local ref');
    } finally {
      process.chdir(cwd);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test(
    'a file: URL with an encoded NUL byte is refused as REF_UNSAFE',
    () => {
      throwsCode(() => parseRef('file:///tmp/a%00b.gguf'), 'REF_UNSAFE');
    },
  );

  test(
    'a malformed file: URL is REF_INVALID, not a raw TypeError',
    () => {
      throwsCode(() => parseRef('file://remote-host/models/x.gguf'), 'REF_INVALID');
    },
  );
});

describe('parseRef: aliases', () => {
  test('an alias resolves to its target; the target is parsed', () => {
    const ref = parseRef('tiny', { tiny: 'hf:a/b/c.gguf' });
    assert.equal(ref.kind, 'hf-file');
    assert.equal(ref.text, 'hf:a/b/c.gguf');
  });

  test('chained aliases resolve to the final target', () => {
    const ref = parseRef('fast', { fast: 'small', small: 'tiny', tiny: 'hf:a/b:Q4_K_M' });
    assert.equal(ref.kind, 'hf-quant');
    assert.equal(ref.text, 'hf:a/b:Q4_K_M');
  });

  test('non-alias input is parsed as is even when aliases are given', () => {
    assert.equal(parseRef('hf:x/y/z.gguf', { tiny: 'hf:a/b/c.gguf' }).text, 'hf:x/y/z.gguf');
  });

  test('inherited object keys are not aliases', () => {
    throwsCode(() => parseRef('toString', {}), 'REF_INVALID');
  });

  test('an alias cycle throws CONFIG_INVALID', () => {
    const error = throwsCode(() => parseRef('a', { a: 'b', b: 'c', c: 'a' }), 'CONFIG_INVALID');
    assert.match(error.message, /a -> b -> c -> a/);
    throwsCode(() => parseRef('self', { self: 'self' }), 'CONFIG_INVALID');
  });

  test('an alias pointing at an unsafe ref is still refused', () => {
    throwsCode(() => parseRef('evil', { evil: 'hf:owner/repo/../../etc/passwd' }), 'REF_UNSAFE');
  });
});

describe('assertSafeRepoPath', () => {
  test('returns safe repo paths unchanged', () => {
    assert.equal(assertSafeRepoPath('model.gguf'), 'model.gguf');
    assert.equal(assertSafeRepoPath('Q4_K_M/model-00001-of-00002.gguf'), 'Q4_K_M/model-00001-of-00002.gguf');
    assert.equal(assertSafeRepoPath('a/..b/c..'), 'a/..b/c..');
  });

  for (const path of ['', '/etc/passwd', 'C:/x', 'c:x', 'a/../b', '..', './a', 'a//b', 'a/', 'a\\b', 'a\0b']) {
    test(`refuses ${JSON.stringify(path)}`, () => {
      throwsCode(() => assertSafeRepoPath(path), 'REF_UNSAFE');
    });
  }

  test('the error names the ref it was given', () => {
    const error = throwsCode(() => assertSafeRepoPath('../x', 'hf:o/r/../x'), 'REF_UNSAFE');
    assert.match(error.message, /hf:o\/r\/\.\.\/x/);
  });
});

describe('assertSafeRevision', () => {
  for (const rev of ['main', 'v1.0', 'refs/pr/1', 'release_2-x', COMMIT]) {
    test(`accepts ${JSON.stringify(rev)}`, () => assert.equal(assertSafeRevision(rev), rev));
  }
  for (const rev of ['', '..', '.', 'a/../b', 'refs//pr', '/main', 'main/', 'a b', 'a\\b', 'ma\0in', 'v1:x']) {
    test(`refuses ${JSON.stringify(rev)}`, () => {
      throwsCode(() => assertSafeRevision(rev), 'REF_UNSAFE');
    });
  }
});

describe('isCommitHash', () => {
  test('true only for 40 lowercase hex digits', () => {
    assert.equal(isCommitHash(COMMIT), true);
    assert.equal(isCommitHash(COMMIT.toUpperCase()), false);
    assert.equal(isCommitHash(COMMIT.slice(1)), false);
    assert.equal(isCommitHash(`${COMMIT}0`), false);
    assert.equal(isCommitHash(`${COMMIT.slice(1)}g`), false);
    assert.equal(isCommitHash('main'), false);
  });
});
