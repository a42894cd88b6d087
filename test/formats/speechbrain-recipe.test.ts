import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readHyperPyYaml, speakerRecipe } from '../../src/formats/speechbrain/index.js';
import { throwsCode } from '../support/assertions.js';
import { ECAPA_DIR, ECAPA_SKIP } from '../support/ecapa-reference.js';

const WHAT = 'hyperparams.yaml';
const recipeOf = (text: string) => speakerRecipe(readHyperPyYaml(text, WHAT), WHAT);

/** spkrec-ecapa-voxceleb's recipe, full size, as the hub has it. */
const VOXCELEB = `
n_mels: 80
pretrained_path: speechbrain/spkrec-ecapa-voxceleb
out_n_neurons: 7205
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>
mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: False
embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN
    input_size: !ref <n_mels>
    channels: [1024, 1024, 1024, 1024, 3072]
    kernel_sizes: [5, 3, 3, 3, 1]
    dilations: [1, 2, 3, 4, 1]
    attention_channels: 128
    lin_neurons: 192
classifier: !new:speechbrain.lobes.models.ECAPA_TDNN.Classifier
    input_size: 192
    out_neurons: !ref <out_n_neurons>
mean_var_norm_emb: !new:speechbrain.processing.features.InputNormalization
    norm_type: global
    std_norm: False
modules:
    compute_features: !ref <compute_features>
    mean_var_norm: !ref <mean_var_norm>
    embedding_model: !ref <embedding_model>
    mean_var_norm_emb: !ref <mean_var_norm_emb>
    classifier: !ref <classifier>
label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder
pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        embedding_model: !ref <embedding_model>
    paths:
        embedding_model: !ref <pretrained_path>/embedding_model.ckpt
        mean_var_norm_emb: !ref <pretrained_path>/mean_var_norm_emb.ckpt
        classifier: !ref <pretrained_path>/classifier.ckpt
        label_encoder: !ref <pretrained_path>/label_encoder.txt
`;

describe('HyperPyYAML recipes', () => {
  test('the voxceleb recipe gives the Fbank, the ECAPA shape and the checkpoints beside the recipe', () => {
    const recipe = recipeOf(VOXCELEB);
    assert.deepEqual(recipe.fbank, { sampleRate: 16000, nFft: 400, winLength: 400, hopLength: 160, nMels: 80, fMin: 0, fMax: 8000, topDb: 80 });
    assert.equal(recipe.sentenceNorm, true);
    assert.deepEqual(recipe.ecapa, {
      inputSize: 80,
      channels: [1024, 1024, 1024, 1024, 3072],
      kernelSizes: [5, 3, 3, 3, 1],
      dilations: [1, 2, 3, 4, 1],
      attentionChannels: 128,
      res2netScale: 8,
      seChannels: 128,
      linNeurons: 192,
      globalContext: true,
    });
    assert.deepEqual(recipe.checkpoints, { embedding_model: 'embedding_model.ckpt', mean_var_norm_emb: 'mean_var_norm_emb.ckpt', classifier: 'classifier.ckpt', label_encoder: 'label_encoder.txt' });
    assert.equal(recipe.classes, 7205);
  });

  test('tags are read as data and never run: an unknown module or tag is refused, naming it', () => {
    const evil = VOXCELEB.replace('!new:speechbrain.lobes.features.Fbank', '!new:os.system');
    assert.match(throwsCode(() => recipeOf(evil), 'MODEL_UNSUPPORTED').message, /os\.system/);
    assert.match(throwsCode(() => recipeOf(VOXCELEB.replace('n_mels: 80\n', 'n_mels: !include:other.yaml\n')), 'MODEL_UNSUPPORTED').message, /!include/);
  });

  test('arguments hearth does not reproduce are refused rather than approximated', () => {
    assert.match(throwsCode(() => recipeOf(VOXCELEB.replace('norm_type: sentence\n    std_norm: False', 'norm_type: sentence\n    std_norm: True')), 'MODEL_UNSUPPORTED').message, /std_norm/);
    assert.match(throwsCode(() => recipeOf(VOXCELEB.replace('    n_mels: !ref <n_mels>\n', '    n_mels: !ref <n_mels>\n    deltas: True\n')), 'MODEL_UNSUPPORTED').message, /deltas/);
    assert.match(throwsCode(() => recipeOf(VOXCELEB.replace('    lin_neurons: 192\nclassifier', '    lin_neurons: 192\n    wobble: 3\nclassifier')), 'MODEL_UNSUPPORTED').message, /wobble/);
  });

  test('references: a missing key, a cycle and arithmetic are refused', () => {
    assert.match(throwsCode(() => recipeOf(VOXCELEB.replace('input_size: !ref <n_mels>', 'input_size: !ref <n_melz>')), 'MODEL_UNSUPPORTED').message, /n_melz/);
    assert.match(throwsCode(() => recipeOf(`a: !ref <b>\nb: !ref <a>\n`), 'MODEL_UNSUPPORTED').message, /itself/);
    assert.match(throwsCode(() => recipeOf(VOXCELEB.replace('input_size: !ref <n_mels>', 'input_size: !ref <n_mels> * 2')), 'MODEL_UNSUPPORTED').message, /arithmetic/);
    assert.match(throwsCode(() => recipeOf('a: [1, 2\n'), 'MODEL_UNSUPPORTED').message, /YAML/);
  });

  test('the reference repo recipe reads as the small ECAPA its README describes', { skip: ECAPA_SKIP }, () => {
    const recipe = recipeOf(readFileSync(join(ECAPA_DIR!, 'hyperparams.yaml'), 'utf8'));
    assert.deepEqual(recipe.ecapa.channels, [256, 256, 256, 256, 768]);
    assert.equal(recipe.ecapa.attentionChannels, 64);
    assert.equal(recipe.classes, 10);
    assert.equal(recipe.checkpoints.embedding_model, 'embedding_model.ckpt');
  });
});
