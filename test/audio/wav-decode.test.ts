import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { decodeWav } from '../../src/runtime/audio/wav-decode.js';
import { ECAPA_SKIP, ECAPA_TOLERANCE, ecapaClips, maxAbsDiff, referenceF32 } from '../support/ecapa-reference.js';

/** WAV bytes written by hand, independent of the decoder's library. */
interface WavSpec {
  /** 1 PCM, 3 IEEE float, or any other tag; `extensible` wraps it in WAVE_FORMAT_EXTENSIBLE. */
  format?: number;
  extensible?: boolean;
  channels?: number;
  rate?: number;
  bits: number;
  /** Interleaved sample bytes. */
  data: Uint8Array;
  /** Chunks placed between fmt and data (id, body); odd bodies get their RIFF pad byte. */
  before?: [string, Uint8Array][];
  trailing?: Uint8Array;
}

function chunk(id: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length + (body.length & 1));
  out.set(Buffer.from(id, 'latin1'), 0);
  new DataView(out.buffer).setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

function fmtBody({ format = 1, extensible = false, channels = 1, rate = 16000, bits }: WavSpec): Uint8Array {
  const body = new Uint8Array(extensible ? 40 : 16);
  const view = new DataView(body.buffer);
  view.setUint16(0, extensible ? 0xfffe : format, true);
  view.setUint16(2, channels, true);
  view.setUint32(4, rate, true);
  view.setUint32(8, (rate * channels * bits) / 8, true);
  view.setUint16(12, (channels * bits) / 8, true);
  view.setUint16(14, bits, true);
  if (extensible) {
    view.setUint16(16, 22, true);
    view.setUint16(18, bits, true);
    view.setUint32(20, channels === 1 ? 4 : 3, true);
    // SubFormat GUID: the format tag, then 00000000-0010-8000-00aa00389b71.
    body.set(Buffer.from('0000000000001000800000aa00389b71', 'hex'), 24);
    view.setUint16(24, format, true);
  }
  return body;
}

function wav(spec: WavSpec): Uint8Array {
  const parts = [chunk('fmt ', fmtBody(spec)), ...(spec.before ?? []).map(([id, body]) => chunk(id, body)), chunk('data', spec.data)];
  const size = 4 + parts.reduce((n, p) => n + p.length, 0);
  const trailing = spec.trailing ?? new Uint8Array(0);
  const out = new Uint8Array(8 + size + trailing.length);
  out.set(Buffer.from('RIFFxxxxWAVE', 'latin1'), 0);
  new DataView(out.buffer).setUint32(4, size, true);
  let at = 12;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  out.set(trailing, at);
  return out;
}

function bytesOf(values: number[], write: (view: DataView, at: number, v: number) => void, width: number): Uint8Array {
  const out = new Uint8Array(values.length * width);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => write(view, i * width, v));
  return out;
}

const int16 = (values: number[]): Uint8Array => bytesOf(values, (d, at, v) => d.setInt16(at, v, true), 2);
const int24 = (values: number[]): Uint8Array =>
  bytesOf(values, (d, at, v) => {
    d.setUint8(at, v & 0xff);
    d.setUint8(at + 1, (v >> 8) & 0xff);
    d.setUint8(at + 2, (v >> 16) & 0xff);
  }, 3);
const int32 = (values: number[]): Uint8Array => bytesOf(values, (d, at, v) => d.setInt32(at, v, true), 4);
const float32 = (values: number[]): Uint8Array => bytesOf(values, (d, at, v) => d.setFloat32(at, v, true), 4);
const float64 = (values: number[]): Uint8Array => bytesOf(values, (d, at, v) => d.setFloat64(at, v, true), 8);

const expectInvalid = (bytes: Uint8Array): void => {
  assert.throws(() => decodeWav(bytes), (error) => isHearthError(error, 'AUDIO_INVALID'));
};

describe('decodeWav: sample formats, scaled as soundfile does', () => {
  test('PCM16 is int16 / 32768 exactly, on both sides of zero', () => {
    const values = [-32768, -32767, -1, 0, 1, 12345, 32767];
    const { sampleRate, channels } = decodeWav(wav({ bits: 16, data: int16(values) }));
    assert.equal(sampleRate, 16000);
    assert.equal(channels.length, 1);
    assert.deepEqual(Array.from(channels[0]!), values.map((v) => v / 32768));
  });

  test('8-bit is unsigned: (u − 128) / 128', () => {
    const { channels } = decodeWav(wav({ bits: 8, data: Uint8Array.from([0, 1, 127, 128, 129, 255]) }));
    assert.deepEqual(Array.from(channels[0]!), [-1, -127 / 128, -1 / 128, 0, 1 / 128, 127 / 128]);
  });

  test('PCM24 is int24 / 8388608', () => {
    const values = [-8388608, -4194305, -1, 0, 1, 8388607];
    const { channels } = decodeWav(wav({ bits: 24, data: int24(values) }));
    assert.deepEqual(Array.from(channels[0]!), values.map((v) => Math.fround(v / 8388608)));
  });

  test('PCM32 is int32 / 2147483648, rounded to float32', () => {
    const values = [-2147483648, -123456789, -1, 0, 1, 2147483647];
    const { channels } = decodeWav(wav({ bits: 32, data: int32(values) }));
    assert.deepEqual(Array.from(channels[0]!), values.map((v) => Math.fround(v / 2147483648)));
  });

  test('float32 passes through unchanged, out-of-range values included', () => {
    const values = [-1.5, -0.25, 0, 1e-30, 0.1, 2].map(Math.fround);
    const { channels } = decodeWav(wav({ format: 3, bits: 32, data: float32(values) }));
    assert.deepEqual(Array.from(channels[0]!), values);
  });

  test('float64 rounds to float32', () => {
    const values = [-0.1, 1 / 3, 0.7];
    const { channels } = decodeWav(wav({ format: 3, bits: 64, data: float64(values) }));
    assert.deepEqual(Array.from(channels[0]!), values.map(Math.fround));
  });

  test('stereo de-interleaves, and the sample rate is reported as written', () => {
    const { sampleRate, channels } = decodeWav(wav({ channels: 2, rate: 44100, bits: 16, data: int16([100, -100, 200, -200, 300, -300]) }));
    assert.equal(sampleRate, 44100);
    assert.deepEqual(Array.from(channels[0]!), [100, 200, 300].map((v) => v / 32768));
    assert.deepEqual(Array.from(channels[1]!), [-100, -200, -300].map((v) => v / 32768));
  });

  test('WAVE_FORMAT_EXTENSIBLE: PCM24 in three channels at 8 kHz, and float32', () => {
    const pcm = decodeWav(wav({ extensible: true, channels: 3, rate: 8000, bits: 24, data: int24([1, 2, 3, -1, -2, -3]) }));
    assert.equal(pcm.sampleRate, 8000);
    assert.deepEqual(pcm.channels.map((c) => Array.from(c)), [[1, -1], [2, -2], [3, -3]].map((c) => c.map((v) => v / 8388608)));
    const float = decodeWav(wav({ extensible: true, format: 3, channels: 2, bits: 32, data: float32([0.5, -0.5, 0.25, -0.25]) }));
    assert.deepEqual(float.channels.map((c) => Array.from(c)), [[0.5, 0.25], [-0.5, -0.25]]);
  });
});

describe('decodeWav: RIFF layout', () => {
  test('an odd-sized chunk before the data is skipped with its pad byte', () => {
    const { channels } = decodeWav(wav({ bits: 16, data: int16([1, 2]), before: [['LIST', new Uint8Array(5)], ['junk', new Uint8Array(3)]] }));
    assert.deepEqual(Array.from(channels[0]!), [1 / 32768, 2 / 32768]);
  });

  test('an odd-sized chunk whose writer left out the pad byte', () => {
    const list = chunk('LIST', Uint8Array.from([1, 2, 3])).subarray(0, 11);
    const fmt = chunk('fmt ', fmtBody({ bits: 16, data: new Uint8Array(0) }));
    const data = chunk('data', int16([3, 4]));
    const bytes = new Uint8Array(12 + fmt.length + list.length + data.length);
    bytes.set(Buffer.from('RIFFxxxxWAVE', 'latin1'));
    new DataView(bytes.buffer).setUint32(4, bytes.length - 8, true);
    bytes.set(fmt, 12);
    bytes.set(list, 12 + fmt.length);
    bytes.set(data, 12 + fmt.length + list.length);
    assert.deepEqual(Array.from(decodeWav(bytes).channels[0]!), [3 / 32768, 4 / 32768]);
  });

  test('an odd-sized data chunk (8-bit mono) with its pad byte', () => {
    const { channels } = decodeWav(wav({ bits: 8, data: Uint8Array.from([128, 192, 64]) }));
    assert.deepEqual(Array.from(channels[0]!), [0, 0.5, -0.5]);
  });

  test('bytes after the RIFF chunk are ignored', () => {
    const { channels } = decodeWav(wav({ bits: 16, data: int16([7, 8]), trailing: Buffer.from('ID3\x04junk', 'latin1') }));
    assert.deepEqual(Array.from(channels[0]!), [7 / 32768, 8 / 32768]);
  });

  test('a streamed WAV (sizes 0xFFFFFFFF) reads up to the end', () => {
    const bytes = wav({ bits: 16, data: int16([5, 6, 7]) });
    const view = new DataView(bytes.buffer);
    view.setUint32(4, 0xffffffff, true);
    view.setUint32(12 + 8 + 16 + 4, 0xffffffff, true);
    assert.deepEqual(Array.from(decodeWav(bytes).channels[0]!), [5, 6, 7].map((v) => v / 32768));
  });

  test('a wrong RIFF size does not hide a complete data chunk', () => {
    for (const riffSize of [20, 1 << 30]) {
      const bytes = wav({ bits: 16, data: int16([9, 10]) });
      new DataView(bytes.buffer).setUint32(4, riffSize, true);
      assert.deepEqual(Array.from(decodeWav(bytes).channels[0]!), [9 / 32768, 10 / 32768]);
    }
  });

  test('a last frame cut short inside a complete data chunk is dropped', () => {
    const data = int16([1, -1, 2, -2, 3]);
    const { channels } = decodeWav(wav({ channels: 2, bits: 16, data }));
    assert.deepEqual(channels.map((c) => Array.from(c)), [[1 / 32768, 2 / 32768], [-1 / 32768, -2 / 32768]]);
  });

  test('an empty data chunk gives empty channels', () => {
    const { channels } = decodeWav(wav({ channels: 2, bits: 16, data: new Uint8Array(0) }));
    assert.deepEqual(channels.map((c) => c.length), [0, 0]);
  });
});

describe('decodeWav: what is not a readable WAV is AUDIO_INVALID', () => {
  const good = wav({ channels: 2, rate: 44100, bits: 16, data: int16(Array.from({ length: 64 }, (_, i) => i * 100 - 3000)) });

  test('empty, random and non-WAV RIFF bytes', () => {
    expectInvalid(new Uint8Array(0));
    expectInvalid(Uint8Array.from({ length: 256 }, (_, i) => (i * 37) & 0xff));
    expectInvalid(Buffer.from('RIFF\x10\x00\x00\x00AVI LIST\x00\x00\x00\x00', 'latin1'));
    expectInvalid(Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00 an mp3', 'latin1'));
  });

  test('truncated: inside the header, inside fmt, inside data', () => {
    for (const cut of [4, 11, 20, 30, 44, good.length - 1]) expectInvalid(good.subarray(0, cut));
  });

  test('no data chunk, data before fmt', () => {
    const fmt = chunk('fmt ', fmtBody({ bits: 16, data: new Uint8Array(0) }));
    const data = chunk('data', int16([1, 2]));
    const riff = (...parts: Uint8Array[]): Uint8Array => {
      const size = 4 + parts.reduce((n, p) => n + p.length, 0);
      const out = new Uint8Array(8 + size);
      out.set(Buffer.from('RIFFxxxxWAVE', 'latin1'));
      new DataView(out.buffer).setUint32(4, size, true);
      let at = 12;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    };
    expectInvalid(riff(fmt));
    expectInvalid(riff(data, fmt));
  });

  test('unsupported or impossible formats: ADPCM, 12-bit, 0 channels, 0 Hz, a short fmt chunk', () => {
    expectInvalid(wav({ format: 2, bits: 16, data: int16([1, 2]) }));
    expectInvalid(wav({ format: 3, bits: 16, data: int16([1, 2]) }));
    const twelve = wav({ bits: 16, data: int16([1, 2]) });
    new DataView(twelve.buffer).setUint16(12 + 8 + 14, 12, true);
    expectInvalid(twelve);
    expectInvalid(wav({ channels: 0, bits: 16, data: int16([1, 2]) }));
    expectInvalid(wav({ rate: 0, bits: 16, data: int16([1, 2]) }));
    const short = good.slice();
    new DataView(short.buffer).setUint32(16, 12, true);
    expectInvalid(short);
  });

  test('random corruption decodes or throws AUDIO_INVALID, never anything else', () => {
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 4294967296;
    };
    for (let round = 0; round < 3000; round++) {
      const bytes = good.slice(0, 12 + Math.floor(next() * (good.length - 12)) + 1);
      for (let k = 0; k < 1 + Math.floor(next() * 4); k++) bytes[Math.floor(next() * Math.min(bytes.length, 48))] = Math.floor(next() * 256);
      try {
        const { channels } = decodeWav(bytes);
        assert.ok(channels.length >= 1);
      } catch (error) {
        assert.ok(isHearthError(error, 'AUDIO_INVALID'), `round ${round}: ${String(error)}`);
      }
    }
  });
});

describe('decodeWav on the SpeechBrain reference clips', { skip: ECAPA_SKIP }, () => {
  test('each clip decodes to exactly the wave SpeechBrain loaded', () => {
    for (const clip of ecapaClips()) {
      const { sampleRate, channels } = decodeWav(readFileSync(clip.wavPath));
      assert.equal(sampleRate, 16000, clip.name);
      assert.equal(channels.length, 1, clip.name);
      const reference = referenceF32(`${clip.name}.f32`);
      assert.equal(channels[0]!.length, clip.samples, clip.name);
      assert.ok(maxAbsDiff(channels[0]!, reference) <= ECAPA_TOLERANCE.wave, clip.name);
      assert.deepEqual(channels[0], reference, `${clip.name} is bit-exact`);
    }
  });
});
