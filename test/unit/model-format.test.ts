import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { modelFormat, type ModelFileNames } from '../../src/formats/index.js';

function model(primary: string, files: string[] = [primary], localPath = `/cache/snapshots/abc/${primary}`): ModelFileNames {
  return { primary: { path: primary, localPath }, files: files.map((path) => ({ path })) };
}

describe('modelFormat: a model told from its file names', () => {
  test('a GGUF file, by its repository path or by where it lies (a local file registered under another name)', () => {
    assert.equal(modelFormat(model('qwen2.5-0.5b-instruct-q4_k_m.gguf')), 'gguf');
    assert.equal(modelFormat(model('Model.GGUF')), 'gguf');
    assert.equal(modelFormat(model('weights', ['weights'], '/models/tiny.gguf')), 'gguf');
  });

  test('a SpeechBrain repo is told by its hyperparams.yaml, at the root or in a folder', () => {
    assert.equal(modelFormat(model('hyperparams.yaml', ['hyperparams.yaml', 'embedding_model.ckpt'])), 'speechbrain');
    assert.equal(modelFormat(model('spkrec/hyperparams.yaml')), 'speechbrain');
    assert.equal(modelFormat(model('my-hyperparams.yaml')), undefined);
  });

  test('an ONNX graph is a speaker export with hearth-speaker.json beside it, and an encoder otherwise', () => {
    assert.equal(modelFormat(model('onnx/model.onnx', ['onnx/model.onnx', 'tokenizer.json'])), 'onnx-encoder');
    assert.equal(modelFormat(model('ecapa.onnx', ['ecapa.onnx', 'hearth-speaker.json'])), 'speaker-onnx');
    assert.equal(modelFormat(model('export/ecapa.onnx', ['export/ecapa.onnx', 'export/hearth-speaker.json'])), 'speaker-onnx');
  });

  test('anything else has no format, so no backend takes it', () => {
    assert.equal(modelFormat(model('model.safetensors')), undefined);
    assert.equal(modelFormat(model('pytorch_model.bin')), undefined);
  });
});
