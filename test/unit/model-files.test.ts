import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { onnxFileName, onnxVariant, selectModelFiles } from '../../src/formats/model-files.js';
import { selectSafeModelFiles } from '../../src/store/select-model.js';
import { throwsCode } from '../support/assertions.js';

const WHAT = 'hf:owner/repo';

/** A sentence-transformers repo as the hub lists it: weights in four formats, ONNX variants in onnx/. */
const ST_REPO = [
  '.gitattributes',
  'README.md',
  '1_Pooling/config.json',
  '2_Normalize/.gitkeep',
  'config.json',
  'config_sentence_transformers.json',
  'model.safetensors',
  'pytorch_model.bin',
  'tf_model.h5',
  'rust_model.ot',
  'modules.json',
  'sentence_bert_config.json',
  'special_tokens_map.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.txt',
  'train_script.py',
  'data_config.json',
  'onnx/model.onnx',
  'onnx/model_O1.onnx',
  'onnx/model_O4.onnx',
  'onnx/model_qint8_avx512.onnx',
  'onnx/model_qint8_avx512_vnni.onnx',
  'onnx/model_quint8_avx2.onnx',
  'openvino/openvino_model.bin',
  'openvino/openvino_model.xml',
  'openvino/openvino_model_qint8_quantized.bin',
];
const ST_SUPPORT = [
  '1_Pooling/config.json',
  'config.json',
  'config_sentence_transformers.json',
  'modules.json',
  'sentence_bert_config.json',
  'special_tokens_map.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.txt',
];

/** A transformers.js (Xenova-style) repo: every dtype under onnx/. */
const TJS_REPO = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
  'quantize_config.json',
  'onnx/model.onnx',
  'onnx/model_fp16.onnx',
  'onnx/model_quantized.onnx',
  'onnx/model_int8.onnx',
  'onnx/model_uint8.onnx',
  'onnx/model_q4.onnx',
  'onnx/model_q4f16.onnx',
  'onnx/model_bnb4.onnx',
];

describe('selectModelFiles: ONNX repos', () => {
  test('the default is onnx/model.onnx with the support files, and no other weights', () => {
    const selection = selectModelFiles(ST_REPO, undefined, WHAT);
    assert.equal(selection.format, 'onnx');
    assert.equal(selection.primary, 'onnx/model.onnx');
    assert.deepEqual(selection.files, ['onnx/model.onnx', ...ST_SUPPORT]);
  });

  const variants: Array<[string | undefined, string]> = [
    [undefined, 'onnx/model.onnx'],
    ['fp32', 'onnx/model.onnx'],
    ['fp16', 'onnx/model_fp16.onnx'],
    ['q8', 'onnx/model_quantized.onnx'],
    ['quantized', 'onnx/model_quantized.onnx'],
    ['int8', 'onnx/model_int8.onnx'],
    ['uint8', 'onnx/model_uint8.onnx'],
    ['q4', 'onnx/model_q4.onnx'],
    ['q4f16', 'onnx/model_q4f16.onnx'],
    ['bnb4', 'onnx/model_bnb4.onnx'],
    ['FP16', 'onnx/model_fp16.onnx'],
  ];
  for (const [variant, file] of variants) {
    test(`variant ${variant ?? '(none)'} picks ${file}`, () => {
      const selection = selectModelFiles(TJS_REPO, variant, WHAT);
      assert.equal(selection.primary, file);
      assert.deepEqual(selection.files, [file, 'config.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
    });
  }

  test("any other tag t names model_<t>.onnx (sentence-transformers' optimized and quantized exports)", () => {
    assert.equal(selectModelFiles(ST_REPO, 'qint8_avx512', WHAT).primary, 'onnx/model_qint8_avx512.onnx');
    assert.equal(selectModelFiles(ST_REPO, 'O4', WHAT).primary, 'onnx/model_O4.onnx');
    assert.equal(selectModelFiles(ST_REPO, 'o1', WHAT).primary, 'onnx/model_O1.onnx');
  });

  test('a variant that does not exist is MODEL_NOT_FOUND listing those that do', () => {
    const error = throwsCode(() => selectModelFiles(ST_REPO, 'fp16', WHAT), 'MODEL_NOT_FOUND');
    assert.deepEqual(error.details.available, ['fp32', 'O1', 'O4', 'qint8_avx512', 'qint8_avx512_vnni', 'quint8_avx2']);
    assert.match(error.hint ?? '', /available variants: fp32, O1, O4/);
    assert.match(error.message, /onnx\/model_fp16\.onnx/);
    const q8 = throwsCode(() => selectModelFiles(['onnx/model_fp16.onnx', 'config.json'], undefined, WHAT), 'MODEL_NOT_FOUND');
    assert.deepEqual(q8.details.available, ['fp16']);
  });

  test('onnx/ is preferred over the root; the root is used when onnx/ lacks the variant', () => {
    const both = ['model.onnx', 'onnx/model.onnx', 'model_fp16.onnx', 'config.json', 'tokenizer.json'];
    assert.equal(selectModelFiles(both, undefined, WHAT).primary, 'onnx/model.onnx');
    assert.equal(selectModelFiles(both, 'fp16', WHAT).primary, 'model_fp16.onnx');
    assert.deepEqual(selectModelFiles(['model.onnx', 'tokenizer.json'], undefined, WHAT).files, ['model.onnx', 'tokenizer.json']);
  });

  test('external data files travel with their graph, and only with theirs', () => {
    const listing = [
      'onnx/model.onnx',
      'onnx/model.onnx_data',
      'onnx/model_fp16.onnx',
      'onnx/model_fp16.onnx_data',
      'onnx/model_fp16.onnx_data_2',
      'onnx/model_fp16.onnx_data_1',
      'onnx/model_fp16.onnx_data_x',
      'onnx/model_fp16.onnx.data',
      'config.json',
    ];
    assert.deepEqual(selectModelFiles(listing, undefined, WHAT).files, ['onnx/model.onnx', 'onnx/model.onnx_data', 'config.json']);
    assert.deepEqual(selectModelFiles(listing, 'fp16', WHAT).files, [
      'onnx/model_fp16.onnx',
      'onnx/model_fp16.onnx.data',
      'onnx/model_fp16.onnx_data',
      'onnx/model_fp16.onnx_data_1',
      'onnx/model_fp16.onnx_data_2',
      'config.json',
    ]);
  });

  test('support files count only at the root, and module configs only in sentence-transformers module folders', () => {
    const listing = ['onnx/model.onnx', 'onnx/config.json', 'sub/tokenizer.json', '1_Pooling/config.json', '2_Dense/config.json', '2_Dense/model.safetensors', 'Pooling/config.json', '1_Pooling/extra/config.json', 'spiece.model', 'sentencepiece.bpe.model', 'merges.txt'];
    assert.deepEqual(selectModelFiles(listing, undefined, WHAT).files, ['onnx/model.onnx', '1_Pooling/config.json', '2_Dense/config.json', 'merges.txt', 'sentencepiece.bpe.model', 'spiece.model']);
  });

  test('ONNX files of other models (encoder_model.onnx) do not stand in for model.onnx', () => {
    const error = throwsCode(() => selectModelFiles(['onnx/encoder_model.onnx', 'onnx/decoder_model.onnx'], undefined, WHAT), 'MODEL_NOT_FOUND');
    assert.match(error.hint ?? '', /encoder_model\.onnx/);
  });
});

describe('selectModelFiles: GGUF repos', () => {
  const listing = ['README.md', 'model.Q2_K.gguf', 'model.Q4_K_M.gguf', 'model.Q8_0.gguf', 'config.json'];

  test('without a tag: Q4_K_M when present, as Ollama picks for hf.co/<owner>/<repo>', () => {
    assert.deepEqual(selectModelFiles(listing, undefined, WHAT), { format: 'gguf', primary: 'model.Q4_K_M.gguf', files: ['model.Q4_K_M.gguf'] });
  });

  test('without a tag and without Q4_K_M: the only GGUF, or the only split set', () => {
    assert.deepEqual(selectModelFiles(['x.F16.gguf', 'README.md'], undefined, WHAT).files, ['x.F16.gguf']);
    assert.deepEqual(selectModelFiles(['mmproj-x-f16.gguf', 'x.Q8_0.gguf'], undefined, WHAT).files, ['x.Q8_0.gguf'], 'a projector is not the model');
    const split = ['big-00002-of-00002.gguf', 'big-00001-of-00002.gguf'];
    assert.deepEqual(selectModelFiles(split, undefined, WHAT).files, ['big-00001-of-00002.gguf', 'big-00002-of-00002.gguf']);
    throwsCode(() => selectModelFiles(['big-00001-of-00003.gguf', 'big-00003-of-00003.gguf'], undefined, WHAT), 'MODEL_NOT_FOUND');
  });

  test('without a tag, several GGUF models and no Q4_K_M is MODEL_NOT_FOUND listing the quants', () => {
    const error = throwsCode(() => selectModelFiles(['m.Q8_0.gguf', 'm.Q5_K_M.gguf'], undefined, WHAT), 'MODEL_NOT_FOUND');
    assert.deepEqual(error.details.available, ['Q8_0', 'Q5_K_M']);
    assert.match(error.hint ?? '', /Q8_0, Q5_K_M/);
  });

  test('with a tag, a repo with GGUF files behaves as selectQuantFiles', () => {
    assert.deepEqual(selectModelFiles(listing, 'q8_0', WHAT).files, ['model.Q8_0.gguf']);
    throwsCode(() => selectModelFiles(listing, 'Q5_K_M', WHAT), 'MODEL_NOT_FOUND');
  });

  test('a repo with both: no tag means ONNX, a tag means the GGUF quant', () => {
    const mixed = [...listing, 'onnx/model.onnx', 'tokenizer.json'];
    assert.equal(selectModelFiles(mixed, undefined, WHAT).primary, 'onnx/model.onnx');
    assert.equal(selectModelFiles(mixed, 'Q8_0', WHAT).primary, 'model.Q8_0.gguf');
  });

  test('a repo with neither is MODEL_NOT_FOUND naming what was looked for', () => {
    const error = throwsCode(() => selectModelFiles(['model.safetensors', 'config.json'], undefined, WHAT), 'MODEL_NOT_FOUND');
    assert.match(error.message, /onnx\/\*\.onnx.*\*\.gguf/);
    throwsCode(() => selectModelFiles(['model.safetensors'], 'fp16', WHAT), 'MODEL_NOT_FOUND');
  });
});

describe('ONNX variant names', () => {
  test('onnxFileName and onnxVariant are inverses on the transformers.js names', () => {
    for (const v of ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4', 'O3']) assert.equal(onnxVariant(`onnx/${onnxFileName(v)}`), v);
    assert.equal(onnxFileName(undefined), 'model.onnx');
    assert.equal(onnxFileName('quantized'), 'model_quantized.onnx');
  });

  test('a selected path that is unsafe on disk is refused', () => {
    throwsCode(() => selectSafeModelFiles(['onnx/model_a\\b.onnx'], 'a\\b', WHAT), 'REF_UNSAFE');
    assert.deepEqual(selectSafeModelFiles(['model.onnx', '../config.json'], undefined, WHAT).files, ['model.onnx'], 'unselected names are ignored');
  });
});

describe('SpeechBrain repos', () => {
  // speechbrain/spkrec-ecapa-voxceleb's listing on the hub.
  const listing = ['.gitattributes', 'README.md', 'classifier.ckpt', 'embedding_model.ckpt', 'example1.wav', 'example2.flac', 'hyperparams.yaml', 'label_encoder.txt', 'mean_var_norm_emb.ckpt'];

  test('hyperparams.yaml with root checkpoints selects the recipe, every checkpoint and the label encoder', () => {
    assert.deepEqual(selectModelFiles(listing, undefined, WHAT), {
      format: 'speechbrain',
      primary: 'hyperparams.yaml',
      files: ['hyperparams.yaml', 'classifier.ckpt', 'embedding_model.ckpt', 'mean_var_norm_emb.ckpt', 'label_encoder.txt'],
    });
  });

  test('a recipe without checkpoints, or checkpoints in folders only, is not a SpeechBrain model', () => {
    throwsCode(() => selectModelFiles(['hyperparams.yaml', 'README.md'], undefined, WHAT), 'MODEL_NOT_FOUND');
    throwsCode(() => selectModelFiles(['hyperparams.yaml', 'save/CKPT/model.ckpt'], undefined, WHAT), 'MODEL_NOT_FOUND');
  });
});
