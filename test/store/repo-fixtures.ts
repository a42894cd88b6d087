import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { blobName, type FakeFile } from '../support/fake-hub.js';
import { fixtureBytes } from '../support/sandbox.js';

const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

/** The non-graph files of a sentence-transformers export, as a MiniLM repo has them. */
export function supportFiles(seed = 0): FakeFile[] {
  return [
    { path: 'config.json', content: json({ model_type: 'bert', hidden_size: 8, seed }) },
    { path: 'tokenizer.json', content: json({ model: { type: 'WordPiece', vocab: { '[UNK]': 0, a: 1 } }, seed }) },
    { path: 'tokenizer_config.json', content: json({ model_max_length: 128 }) },
    { path: 'special_tokens_map.json', content: json({ unk_token: '[UNK]' }) },
    { path: 'vocab.txt', content: Buffer.from('[UNK]\na\n') },
    { path: 'modules.json', content: json([{ idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' }, { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' }]) },
    { path: 'sentence_bert_config.json', content: json({ max_seq_length: 128 }) },
    { path: '1_Pooling/config.json', content: json({ pooling_mode_mean_tokens: true }) },
  ];
}

/** A MiniLM-shaped repo: ONNX variants in onnx/, support files, and weights in formats hearth never pulls. */
export function minilmFiles(seed = 0): FakeFile[] {
  return [
    { path: 'onnx/model.onnx', content: fixtureBytes(200_000, 21 + seed) },
    { path: 'onnx/model_quantized.onnx', content: fixtureBytes(60_000, 22 + seed) },
    { path: 'onnx/model_O3.onnx', content: fixtureBytes(30_000, 23 + seed) },
    ...supportFiles(seed),
    { path: 'model.safetensors', content: fixtureBytes(150_000, 24) },
    { path: 'openvino/openvino_model.bin', content: fixtureBytes(50_000, 25) },
    { path: 'README.md', content: Buffer.from('# minilm\n') },
  ];
}

/** The files `hf:<owner>/minilm` selects, primary first. */
export const MINILM_DEFAULT = [
  'onnx/model.onnx',
  '1_Pooling/config.json',
  'config.json',
  'modules.json',
  'sentence_bert_config.json',
  'special_tokens_map.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.txt',
];

export function sizeOf(files: FakeFile[], paths: string[]): number {
  return paths.reduce((n, p) => n + files.find((f) => f.path === p)!.content.length, 0);
}

/** Writes a snapshot by hand in the HF cache layout, as huggingface_hub's snapshot_download leaves it (no hearth record). */
export async function writeForeignSnapshot(hubCache: string, repo: string, commit: string, files: FakeFile[]): Promise<string> {
  const root = join(hubCache, `models--${repo.replace('/', '--')}`);
  await mkdir(join(root, 'blobs'), { recursive: true });
  for (const f of files) {
    const blob = join(root, 'blobs', blobName(f));
    await writeFile(blob, f.content);
    const link = join(root, 'snapshots', commit, f.path);
    await mkdir(dirname(link), { recursive: true });
    await symlink(relative(dirname(link), blob), link);
  }
  await mkdir(join(root, 'refs'), { recursive: true });
  await writeFile(join(root, 'refs', 'main'), commit);
  return root;
}
