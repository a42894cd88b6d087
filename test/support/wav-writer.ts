/** Canonical 16-bit PCM WAV bytes of mono or interleaved channels, for tests that need audio. */
export function pcm16Wav(channels: Float32Array[], sampleRate: number): Uint8Array {
  const frames = channels[0]?.length ?? 0;
  const blockAlign = 2 * channels.length;
  const out = Buffer.alloc(44 + frames * blockAlign);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + frames * blockAlign, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(channels.length, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * blockAlign, 28);
  out.writeUInt16LE(blockAlign, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(frames * blockAlign, 40);
  for (let i = 0; i < frames; i++) {
    channels.forEach((channel, c) => out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(channel[i]! * 32768))), 44 + i * blockAlign + 2 * c));
  }
  return out;
}

/** A quiet rising tone: sound with some structure, deterministic. */
export function tone(seconds: number, sampleRate: number, from = 150, to = 900): Float32Array {
  const n = Math.round(seconds * sampleRate);
  return Float32Array.from({ length: n }, (_, i) => 0.2 * Math.sin((2 * Math.PI * (from + ((to - from) * i) / n / 2) * i) / sampleRate));
}
