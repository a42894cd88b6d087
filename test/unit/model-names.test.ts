import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deriveName, NameIndex, normalizeName, parseRef } from '../../src/store/index.js';

const name = (ref: string) => deriveName(parseRef(ref, {}, { probeFilesystem: false })).short;
const refs = (...texts: string[]) => texts.map((t) => parseRef(t, {}, { probeFilesystem: false }));

describe('model names', () => {
  test('a hub repo is named after the repo, without its format suffix; a tag becomes the tag', () => {
    assert.equal(name('hf:TheBloke/Llama-2-7B-GGUF'), 'llama-2-7b:latest');
    assert.equal(name('hf:TheBloke/Llama-2-7B-GGUF:Q4_K_M'), 'llama-2-7b:q4_k_m');
    assert.equal(name('hf.co/TheBloke/Llama-2-7B-GGUF:latest'), 'llama-2-7b:latest', ':latest is the default, as in Ollama');
    assert.equal(name('hf:sentence-transformers/all-MiniLM-L6-v2'), 'all-minilm-l6-v2:latest');
    assert.equal(name('hf:Xenova/all-MiniLM-L6-v2:q8'), 'all-minilm-l6-v2:q8');
  });

  test('a GGUF file is named after its file, its quant tag becoming the tag; split parts share one name', () => {
    assert.equal(name('hf:owner/repo/tinyllama-1.1b.Q8_0.gguf'), 'tinyllama-1.1b:q8_0');
    assert.equal(name('hf:owner/repo/sub/model-Q4_K_M-00001-of-00003.gguf'), 'model:q4_k_m');
    assert.equal(name('/models/stories260K.gguf'), 'stories260k:latest');
    assert.equal(name('https://example.com/files/phi-2.Q4_0.gguf'), 'phi-2:q4_0');
  });

  test('a local directory is named after it; another file of a repo after the repo, with the file as tag', () => {
    assert.equal(name('/srv/models/minilm'), 'minilm:latest');
    assert.equal(name('hf:owner/all-MiniLM-L6-v2/onnx/model.onnx'), 'all-minilm-l6-v2:model');
  });

  test('a revision other than main is part of the tag', () => {
    assert.equal(name('hf:owner/repo@v2'), 'repo:latest-v2');
    assert.equal(name(`hf:owner/repo:Q8_0@${'a'.repeat(40)}`), `repo:q8_0-${'a'.repeat(12)}`);
  });

  test('names keep only letters, digits, ".", "_" and "-"', () => {
    assert.equal(name('/models/My Model (final)!.gguf'), 'my-model-final:latest');
  });

  test('clashing names fall back to the qualified form, and both forms resolve', () => {
    const index = new NameIndex(refs('hf:alice/x/m.gguf', 'hf:bob/y/m.gguf', '/models/stories260K.gguf'));
    assert.equal(index.nameOf('hf:alice/x/m.gguf'), 'alice/m:latest');
    assert.equal(index.nameOf('hf:bob/y/m.gguf'), 'bob/m:latest');
    assert.equal(index.lookup('m:latest'), undefined, 'an ambiguous short name resolves to nothing');
    assert.equal(index.lookup('bob/m:latest'), 'hf:bob/y/m.gguf');
    assert.equal(index.lookup('stories260k'), '/models/stories260K.gguf', 'no tag means :latest');
    assert.equal(index.lookup('Stories260K:Latest'), '/models/stories260K.gguf', 'case does not matter');
    assert.equal(index.lookup('/models/stories260K.gguf'), undefined, 'a path is not a name');
  });

  test('a model an alias points at is shown by the alias; the alias resolves with or without :latest', () => {
    const aliases = { chat: '/models/stories260K.gguf' };
    const index = new NameIndex(refs('/models/stories260K.gguf'), aliases);
    assert.equal(index.nameOf('/models/stories260K.gguf'), 'chat');
    assert.equal(index.lookup('chat'), 'chat');
    assert.equal(index.lookup('chat:latest'), 'chat');
    assert.equal(index.lookup('stories260k:latest'), '/models/stories260K.gguf', 'the derived name still works');
    assert.deepEqual(index.entries(), [{ name: 'chat', ref: '/models/stories260K.gguf' }]);
  });

  test('normalizeName adds the default tag and folds case', () => {
    assert.equal(normalizeName(' Llama3 '), 'llama3:latest');
    assert.equal(normalizeName('llama3:8B'), 'llama3:8b');
  });
});
