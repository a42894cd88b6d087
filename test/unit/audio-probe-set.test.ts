import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AUDIO_PROBE_SET_ID, audioProbes, audioProbeSetDigest } from '../../src/spaces/audio-probe-set.js';
import { SILENCE_PEAK } from '../../src/runtime/audio/read-clip.js';

describe('the audio probe set', () => {
  test('its clips are pinned: the same 16-bit samples on every machine, for ever under its id', () => {
    assert.equal(AUDIO_PROBE_SET_ID, 'hearth-audio-probes/1');
    // A change here means spaces made before it can no longer be checked: make a new set under a new id instead.
    assert.equal(audioProbeSetDigest(), 'd64ad617baaedd42ff5282b2d0e79ee0b74539c36b52b48e75cc035658e7715e');
  });

  test('every clip is audible, 16-bit exact, and the set spans rates, channels and lengths', () => {
    const clips = audioProbes();
    for (const clip of clips) {
      for (const channel of clip.channels) {
        let peak = 0;
        for (const v of channel) {
          assert.equal(Math.round(v * 32768), v * 32768, 'a sample off the 16-bit grid');
          peak = Math.max(peak, Math.abs(v));
        }
        assert.ok(peak > SILENCE_PEAK * 100 && peak <= 1);
      }
    }
    assert.deepEqual([...new Set(clips.map((c) => c.sampleRate))].sort((a, b) => a - b), [8000, 16000, 44100, 48000]);
    assert.ok(clips.some((c) => c.channels.length === 2));
    const seconds = clips.map((c) => c.channels[0]!.length / c.sampleRate);
    assert.ok(Math.min(...seconds) <= 0.25 && Math.max(...seconds) >= 8);
  });
});
