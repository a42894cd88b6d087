import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { fbank, sentenceNormalize, validFrameCount, HOP_LENGTH, N_MELS } from '../../src/runtime/audio/fbank.js';
import { features, loadWave } from '../../src/runtime/audio/front-end.js';
import { RealFft } from '../../src/runtime/audio/real-fft.js';
import { resampleChannel, resampledLength, toMono16k } from '../../src/runtime/audio/resample.js';
import { ECAPA_SKIP, ECAPA_TOLERANCE, ecapaClips, maxAbsDiff, referenceF32 } from '../support/ecapa-reference.js';

function noise(length: number, seed: number, scale = 0.5): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return (a / 4294967296 - 0.5) * 2 * scale;
  });
}

function sine(length: number, rate: number, hz: number, amplitude: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
}

/** Pearson correlation and the RMS ratio of a[from..to) against b[from..to). */
function compare(a: Float32Array, b: Float32Array, from: number, to: number): { correlation: number; rmsRatio: number } {
  let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  const n = to - from;
  for (let i = from; i < to; i++) {
    const x = a[i]!, y = b[i]!;
    sa += x; sb += y; saa += x * x; sbb += y * y; sab += x * y;
  }
  const cov = sab - (sa * sb) / n;
  const va = saa - (sa * sa) / n;
  const vb = sbb - (sb * sb) / n;
  return { correlation: cov / Math.sqrt(va * vb), rmsRatio: Math.sqrt(saa / sbb) };
}

describe('RealFft', () => {
  for (const size of [400, 16, 42, 2]) {
    test(`matches a direct DFT at size ${size}`, () => {
      const fft = new RealFft(size);
      const x = Float64Array.from(noise(size, size));
      const re = new Float64Array(fft.bins);
      const im = new Float64Array(fft.bins);
      fft.forward(x, re, im);
      let worst = 0;
      for (let k = 0; k < fft.bins; k++) {
        let sr = 0, si = 0;
        for (let t = 0; t < size; t++) {
          sr += x[t]! * Math.cos((2 * Math.PI * k * t) / size);
          si -= x[t]! * Math.sin((2 * Math.PI * k * t) / size);
        }
        worst = Math.max(worst, Math.abs(sr - re[k]!), Math.abs(si - im[k]!));
      }
      assert.ok(worst < 1e-11, `max error ${worst}`);
    });
  }
});

describe('toMono16k', () => {
  test('16 kHz mono passes through bit-exact, as a copy', () => {
    const wave = noise(1000, 1);
    const out = toMono16k({ sampleRate: 16000, channels: [wave] });
    assert.deepEqual(out, wave);
    assert.notEqual(out, wave);
  });

  test('stereo is the average of its channels', () => {
    const left = noise(999, 2), right = noise(999, 3);
    const out = toMono16k({ sampleRate: 16000, channels: [left, right] });
    assert.deepEqual(Array.from(out), Array.from(left, (v, i) => Math.fround((v + right[i]!) / 2)));
  });

  test('averaging before resampling equals resampling each channel then averaging', () => {
    const left = noise(4410, 4), right = noise(4410, 5);
    const mixedFirst = toMono16k({ sampleRate: 44100, channels: [left, right] });
    const l = resampleChannel(left, 44100, 16000), r = resampleChannel(right, 44100, 16000);
    assert.ok(maxAbsDiff(mixedFirst, Array.from(l, (v, i) => (v + r[i]!) / 2)) < 1e-6);
  });

  for (const rate of [44100, 48000, 8000, 22050]) {
    test(`a 1 kHz sine from ${rate} Hz keeps its frequency and amplitude; length ceil(n·16000/${rate})`, () => {
      const n = Math.round(rate * 0.5) + 3;
      const out = toMono16k({ sampleRate: rate, channels: [sine(n, rate, 1000, 0.5)] });
      assert.equal(out.length, Math.ceil((n * 16000) / rate));
      const ideal = sine(out.length, 16000, 1000, 0.5);
      const { correlation, rmsRatio } = compare(out, ideal, 200, out.length - 200);
      assert.ok(correlation > 0.9999, `correlation ${correlation}`);
      assert.ok(Math.abs(rmsRatio - 1) < 0.002, `rms ratio ${rmsRatio}`);
    });
  }

  test('downsampling removes what lies above the new Nyquist', () => {
    const out = toMono16k({ sampleRate: 48000, channels: [sine(48000, 48000, 12000, 0.5)] });
    let rms = 0;
    for (let i = 200; i < out.length - 200; i++) rms += out[i]! * out[i]!;
    assert.ok(Math.sqrt(rms / (out.length - 400)) < 1e-3);
  });

  test('lengths as torchaudio gives them, including its float32 rounding of the quotient', () => {
    assert.equal(resampledLength(7, 44100), 3);
    assert.equal(resampledLength(1, 8000), 2);
    assert.equal(resampledLength(12345, 16000), 12345);
    // ceil(160·368891/441) is 133839 exactly; torchaudio rounds the quotient to float32 first.
    assert.equal(resampledLength(368891, 44100), 133838);
    assert.equal(resampleChannel(noise(368891, 6), 44100, 16000).length, 133838);
    assert.equal(toMono16k({ sampleRate: 44100, channels: [new Float32Array(0)] }).length, 0);
  });

  test('no channels, or an absurd rate, is AUDIO_INVALID', () => {
    const invalid = (error: unknown): boolean => isHearthError(error, 'AUDIO_INVALID');
    assert.throws(() => toMono16k({ sampleRate: 16000, channels: [] }), invalid);
    assert.throws(() => toMono16k({ sampleRate: 0, channels: [new Float32Array(4)] }), invalid);
    assert.throws(() => toMono16k({ sampleRate: 4_000_000_000, channels: [new Float32Array(4)] }), invalid);
  });
});

describe('fbank', () => {
  test('frames = 1 + floor(samples / 160), 80 bins', () => {
    for (const samples of [0, 1, 159, 160, 161, 48000]) {
      const { frames, bins, data } = fbank(noise(samples, samples + 1));
      assert.equal(frames, 1 + Math.floor(samples / HOP_LENGTH));
      assert.equal(bins, N_MELS);
      assert.equal(data.length, frames * N_MELS);
    }
  });

  test('the 80 dB floor is relative to the utterance maximum', () => {
    const wave = sine(16000, 16000, 1000, 0.5);
    wave.fill(0, 8000);
    const { data } = fbank(wave);
    const max = Math.max(...data);
    const min = Math.min(...data);
    assert.ok(Math.abs(min - (max - 80)) < 1e-3, `min ${min}, max ${max}`);
  });

  test('a 1 kHz sine peaks in the filter centred nearest 1 kHz', () => {
    const { frames, data } = fbank(sine(16000, 16000, 1000, 0.5));
    const mid = Math.floor(frames / 2) * N_MELS;
    const row = Array.from(data.subarray(mid, mid + N_MELS));
    const peak = row.indexOf(Math.max(...row));
    // Filter i is centred at mel point i + 1 of 82 spaced over mel(0)..mel(8000).
    const mel = (hz: number): number => 2595 * Math.log10(1 + hz / 700);
    const nearest = Math.round((mel(1000) / mel(8000)) * 81) - 1;
    assert.equal(peak, nearest);
  });

  test('silence is −100 dB everywhere (amin 1e-10)', () => {
    const { data } = fbank(new Float32Array(1600));
    assert.ok(data.every((v) => Math.abs(v + 100) < 1e-4));
  });
});

describe('sentence normalization', () => {
  test('each bin loses its mean over all frames', () => {
    const feats = noise(7 * 3, 9, 10);
    const out = sentenceNormalize(feats, 7, 3);
    for (let b = 0; b < 3; b++) {
      let mean = 0;
      for (let t = 0; t < 7; t++) mean += feats[t * 3 + b]! / 7;
      for (let t = 0; t < 7; t++) assert.ok(Math.abs(out[t * 3 + b]! - (feats[t * 3 + b]! - mean)) < 1e-5);
    }
  });

  test('with validFrames, the mean covers those frames only, and every frame is shifted', () => {
    const feats = Float32Array.from([1, 10, 3, 20, 100, 1000, 100, 1000]);
    const out = sentenceNormalize(feats, 4, 2, 2);
    assert.deepEqual(Array.from(out), [-1, -5, 1, 5, 98, 985, 98, 985]);
  });

  test('validFrameCount: frames t < rel·T − 1e-6 in float32, as make_padding_mask', () => {
    assert.equal(validFrameCount(1, 295), 295);
    assert.equal(validFrameCount(0.5, 10), 5);
    assert.equal(validFrameCount(0.51, 10), 6);
    assert.equal(validFrameCount(Math.fround(25614 / 90994), 569), 161);
    assert.equal(validFrameCount(0, 10), 0);
  });

  test('validFrames outside 1..frames is refused', () => {
    assert.throws(() => sentenceNormalize(new Float32Array(4), 2, 2, 0), (e) => isHearthError(e, 'INTERNAL'));
    assert.throws(() => sentenceNormalize(new Float32Array(4), 2, 2, 3), (e) => isHearthError(e, 'INTERNAL'));
  });
});

describe('front end against SpeechBrain\'s own outputs', { skip: ECAPA_SKIP }, () => {
  test('fbank of the reference wave, and its sentence norm, within 0.02 dB', () => {
    for (const clip of ecapaClips()) {
      const { frames, bins, data } = fbank(referenceF32(`${clip.name}.f32`));
      assert.equal(frames, clip.frames, clip.name);
      const fbankDiff = maxAbsDiff(data, referenceF32(`${clip.name}.fbank.f32`));
      assert.ok(fbankDiff <= ECAPA_TOLERANCE.fbankDb, `${clip.name}: fbank ${fbankDiff} dB`);
      const normDiff = maxAbsDiff(sentenceNormalize(data, frames, bins), referenceF32(`${clip.name}.norm.f32`));
      assert.ok(normDiff <= ECAPA_TOLERANCE.fbankDb, `${clip.name}: norm ${normDiff} dB`);
    }
  });

  test('end to end from the WAV: wave exact, features within 0.02 dB', () => {
    for (const clip of ecapaClips()) {
      const wave = loadWave(readFileSync(clip.wavPath));
      assert.ok(maxAbsDiff(wave, referenceF32(`${clip.name}.f32`)) <= ECAPA_TOLERANCE.wave, clip.name);
      const feats = features(wave);
      assert.equal(feats.frames, clip.frames, clip.name);
      const diff = maxAbsDiff(feats.data, referenceF32(`${clip.name}.norm.f32`));
      assert.ok(diff <= ECAPA_TOLERANCE.fbankDb, `${clip.name}: ${diff} dB`);
    }
  });
});
