import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { throwsCode } from '../support/assertions.js';
import { quantTag, selectQuantFiles } from '../../src/formats/quant.js';

const REPO = 'hf:owner/repo:test';

describe('selectQuantFiles: single files', () => {
  const listing = ['README.md', 'model.Q4_K_S.gguf', 'model.Q4_K_M.gguf', 'model.Q5_K_M.gguf', 'model.Q8_0.gguf'];

  test('picks the file carrying the tag', () => {
    assert.deepEqual(selectQuantFiles(listing, 'Q4_K_M', REPO), ['model.Q4_K_M.gguf']);
    assert.deepEqual(selectQuantFiles(listing, 'Q8_0', REPO), ['model.Q8_0.gguf']);
  });

  test('the tag matches case-insensitively, in both directions', () => {
    assert.deepEqual(selectQuantFiles(listing, 'q4_k_m', REPO), ['model.Q4_K_M.gguf']);
    assert.deepEqual(selectQuantFiles(['Model-q5_k_m.GGUF', 'Model-q8_0.GGUF'], 'Q5_K_M', REPO), ['Model-q5_k_m.GGUF']);
  });

  test('the tag may be delimited by "-", "_" or "." and may start the name', () => {
    assert.deepEqual(selectQuantFiles(['llama-Q4_K_M.gguf', 'llama-Q8_0.gguf'], 'Q4_K_M', REPO), ['llama-Q4_K_M.gguf']);
    assert.deepEqual(selectQuantFiles(['Q4_K_M.gguf', 'Q8_0.gguf'], 'Q4_K_M', REPO), ['Q4_K_M.gguf']);
    assert.deepEqual(selectQuantFiles(['llama-Q4_K_M-imatrix.gguf', 'llama-Q8_0.gguf'], 'Q4_K_M', REPO), ['llama-Q4_K_M-imatrix.gguf']);
  });

  test('a tag embedded in a longer token does not match', () => {
    // IQ4_K_M is not Q4_K_M; Q4_K_M2 is not Q4_K_M.
    throwsCode(() => selectQuantFiles(['model.IQ4_K_M.gguf', 'model.Q4_K_M2.gguf'], 'Q4_K_M', REPO), 'MODEL_NOT_FOUND');
  });

  test(
    'Q4_K does not match Q4_K_M (the tag must be a whole token)',
    () => {
      throwsCode(() => selectQuantFiles(['model.Q4_K_M.gguf', 'model.Q5_K_M.gguf'], 'Q4_K', REPO), 'MODEL_NOT_FOUND');
    },
  );

  test(
    'Q4_K picks model.Q4_K.gguf even when Q4_K_M and Q4_K_S sit beside it',
    () => {
      assert.deepEqual(selectQuantFiles(['model.Q4_K_M.gguf', 'model.Q4_K.gguf', 'model.Q4_K_S.gguf'], 'Q4_K', REPO), ['model.Q4_K.gguf']);
    },
  );

  test('the directory name alone does not carry the tag', () => {
    throwsCode(() => selectQuantFiles(['Q4_K_M/model.gguf'], 'Q4_K_M', REPO), 'MODEL_NOT_FOUND');
    assert.deepEqual(selectQuantFiles(['Q4_K_M/model.gguf', 'Q4_K_M/model-Q4_K_M.gguf'], 'Q4_K_M', REPO), ['Q4_K_M/model-Q4_K_M.gguf']);
  });

  test('regex metacharacters in the tag are matched literally', () => {
    throwsCode(() => selectQuantFiles(['model.Q4_K_M.gguf'], 'Q4.K.M', REPO), 'MODEL_NOT_FOUND');
  });
});

describe('selectQuantFiles: non-GGUF files', () => {
  test('files that are not .gguf are ignored even when they carry the tag', () => {
    const listing = ['model.Q4_K_M.safetensors', 'README-Q4_K_M.md', 'model.Q4_K_M.gguf.part', 'model.Q4_K_M.gguf'];
    assert.deepEqual(selectQuantFiles(listing, 'Q4_K_M', REPO), ['model.Q4_K_M.gguf']);
  });

  test('a listing without GGUF files is MODEL_NOT_FOUND with an empty list of quants', () => {
    const error = throwsCode(() => selectQuantFiles(['model.Q4_K_M.safetensors', 'config.json'], 'Q4_K_M', REPO), 'MODEL_NOT_FOUND');
    assert.deepEqual(error.details.available, []);
    assert.match(error.hint ?? '', /no GGUF files/);
  });
});

describe('selectQuantFiles: split GGUF', () => {
  const parts = ['x-Q4_K_M-00001-of-00003.gguf', 'x-Q4_K_M-00002-of-00003.gguf', 'x-Q4_K_M-00003-of-00003.gguf'];

  test('returns every part in order even when the listing is shuffled', () => {
    const listing = ['x-Q8_0-00002-of-00002.gguf', parts[2]!, 'README.md', parts[0]!, 'x-Q8_0-00001-of-00002.gguf', parts[1]!];
    assert.deepEqual(selectQuantFiles(listing, 'Q4_K_M', REPO), parts);
    assert.deepEqual(selectQuantFiles(listing, 'Q8_0', REPO), ['x-Q8_0-00001-of-00002.gguf', 'x-Q8_0-00002-of-00002.gguf']);
  });

  test('keeps the directory of split parts', () => {
    const listing = ['Q4_K_M/x-Q4_K_M-00002-of-00002.gguf', 'Q4_K_M/x-Q4_K_M-00001-of-00002.gguf'];
    assert.deepEqual(selectQuantFiles(listing, 'Q4_K_M', REPO), ['Q4_K_M/x-Q4_K_M-00001-of-00002.gguf', 'Q4_K_M/x-Q4_K_M-00002-of-00002.gguf']);
  });

  test('an incomplete split (2 of 3 parts) is MODEL_NOT_FOUND', () => {
    const error = throwsCode(() => selectQuantFiles([parts[2]!, parts[0]!], 'Q4_K_M', REPO), 'MODEL_NOT_FOUND');
    assert.match(error.message, /2 of 3/);
    assert.deepEqual(error.details.parts, [parts[0], parts[2]]);
  });

  test('a split missing its first part is MODEL_NOT_FOUND', () => {
    throwsCode(() => selectQuantFiles([parts[1]!, parts[2]!], 'Q4_K_M', REPO), 'MODEL_NOT_FOUND');
  });
});

describe('selectQuantFiles: errors', () => {
  test('a missing quant is MODEL_NOT_FOUND listing the available quants', () => {
    const listing = ['README.md', 'model.Q4_K_S.gguf', 'model.Q5_K_M.gguf', 'x-Q8_0-00001-of-00002.gguf', 'x-Q8_0-00002-of-00002.gguf', 'mmproj.gguf'];
    const error = throwsCode(() => selectQuantFiles(listing, 'Q4_K_M', REPO), 'MODEL_NOT_FOUND');
    assert.deepEqual(error.details.available, ['Q4_K_S', 'Q5_K_M', 'Q8_0']);
    assert.equal(error.details.quant, 'Q4_K_M');
    assert.match(error.hint ?? '', /Q4_K_S, Q5_K_M, Q8_0/);
    assert.match(error.message, /^hf:owner\/repo:test: /);
  });

  test('two different files with the same tag in different directories are REF_AMBIGUOUS', () => {
    const listing = ['a/model.Q4_K_M.gguf', 'b/model.Q4_K_M.gguf', 'a/model.Q8_0.gguf'];
    const error = throwsCode(() => selectQuantFiles(listing, 'Q4_K_M', REPO), 'REF_AMBIGUOUS');
    assert.deepEqual([...(error.details.candidates as string[])].sort(), ['a/model.Q4_K_M.gguf', 'b/model.Q4_K_M.gguf']);
    assert.match(error.hint ?? '', /a\/model\.Q4_K_M\.gguf/);
  });

  test('a single file and a split model with the same tag are REF_AMBIGUOUS', () => {
    const listing = ['model-Q4_K_M.gguf', 'big-Q4_K_M-00001-of-00002.gguf', 'big-Q4_K_M-00002-of-00002.gguf'];
    throwsCode(() => selectQuantFiles(listing, 'Q4_K_M', REPO), 'REF_AMBIGUOUS');
  });
});

describe('quantTag', () => {
  const cases: Array<[string, string | undefined]> = [
    ['llama-7b.Q4_K_M.gguf', 'Q4_K_M'],
    ['dir/llama-7b-q8_0.gguf', 'Q8_0'],
    ['model-IQ4_XS.gguf', 'IQ4_XS'],
    ['model.F16.gguf', 'F16'],
    ['model-f32.gguf', 'F32'],
    ['model-BF16.gguf', 'BF16'],
    ['x-Q4_K_M-00001-of-00003.gguf', 'Q4_K_M'],
    ['model.gguf', undefined],
    ['mmproj-model.gguf', undefined],
  ];
  for (const [path, tag] of cases) {
    test(`${path} → ${String(tag)}`, () => assert.equal(quantTag(path), tag));
  }
});
