/**
 * WAV bytes → float32 channels, converted exactly as soundfile (libsndfile) gives them to
 * SpeechBrain's `load_audio`: integer PCM scales by 2^-(bits-1) on both sides of zero
 * (int16 / 32768, int24 / 8388608, int32 / 2147483648, 8-bit (u8 − 128) / 128), float64
 * rounds to float32, float32 passes through.
 *
 * The sample conversion and the fmt parsing (PCM, IEEE float, A-law, µ-law, and
 * WAVE_FORMAT_EXTENSIBLE wrapping them) are `@echogarden/wave-codec`'s: maintained, pure
 * TypeScript, and the only candidate whose integer scaling is soundfile's; `node-wav` and
 * `@audio/decode-wav` scale positives by 1/(2^(bits-1) − 1), `wavefile` has had no release
 * since 2020. Its chunk walker ignores RIFF word alignment (a chunk of odd size is followed by
 * a pad byte) and rejects bytes after the RIFF chunk, so the chunks are located here and handed
 * to it as a minimal canonical file.
 */
import { decodeWaveToFloat32Channels } from '@echogarden/wave-codec';
import { HearthError } from '../../errors/index.js';

export interface DecodedAudio {
  sampleRate: number;
  /** One array per channel, all of the same length. */
  channels: Float32Array[];
}

/** What writers that cannot seek back (pipes, live capture) leave in a size field. */
const UNKNOWN_SIZE = 0xffffffff;

interface WavChunks {
  fmt: Uint8Array;
  data: Uint8Array;
}

function invalid(message: string, cause?: unknown): HearthError {
  return new HearthError('AUDIO_INVALID', message, cause === undefined ? {} : { cause });
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

/** Four printable ASCII characters, as every chunk id is; undefined where fewer than 4 bytes remain. */
function isChunkId(bytes: Uint8Array, at: number, end: number): boolean | undefined {
  if (at + 4 > end) return undefined;
  for (let i = at; i < at + 4; i++) if (bytes[i]! < 0x20 || bytes[i]! > 0x7e) return false;
  return true;
}

/**
 * Finds the fmt and data chunks. A chunk that runs past the end of the file is an error
 * (a truncated upload should not be embedded as if it were the whole clip), except for
 * the unknown-size markers of streamed WAVs, which mean "up to the end". The RIFF size is not
 * trusted beyond that: writers get it wrong more often than the data size.
 */
function locateChunks(bytes: Uint8Array): WavChunks {
  if (bytes.length < 12 || fourcc(bytes, 0) !== 'RIFF' || fourcc(bytes, 8) !== 'WAVE') {
    throw invalid('not a WAV file: no RIFF/WAVE header');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riffSize = view.getUint32(4, true);
  const streamed = riffSize === 0 || riffSize === UNKNOWN_SIZE;
  // The walk stops at the first data chunk, so bytes after the RIFF chunk (appended tags) are never read.
  const end = bytes.length;
  let fmt: Uint8Array | undefined;
  let at = 12;
  while (at + 8 <= end) {
    const id = fourcc(bytes, at);
    let size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'data') {
      if (fmt === undefined) throw invalid('the WAV has its data chunk before its fmt chunk');
      if (size === UNKNOWN_SIZE || (streamed && size === 0)) size = end - body;
      if (body + size > end) {
        throw invalid(`the WAV is truncated: its data chunk declares ${size} bytes, ${end - body} are present`);
      }
      return { fmt, data: bytes.subarray(body, body + size) };
    }
    if (body + size > end) throw invalid(`the WAV is truncated inside its '${id}' chunk`);
    if (id === 'fmt ') fmt = bytes.subarray(body, body + size);
    at = body + size;
    if (size & 1) {
      // RIFF pads odd chunks to a word; some writers forget, so the pad is skipped unless only the unpadded offset holds a chunk id.
      const padMissing = isChunkId(bytes, at + 1, end) === false && isChunkId(bytes, at, end) === true;
      if (!padMissing) at += 1;
    }
  }
  throw invalid(fmt === undefined ? 'the WAV has no fmt chunk' : 'the WAV has no data chunk');
}

/** RIFF/WAVE, one fmt chunk, one data chunk holding whole frames: the layout the codec reads without trouble. */
function canonicalWav(fmt: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + 8 + fmt.length + 8 + data.length);
  const view = new DataView(out.buffer);
  const ascii = (text: string, at: number): void => {
    for (let i = 0; i < 4; i++) out[at + i] = text.charCodeAt(i);
  };
  ascii('RIFF', 0);
  view.setUint32(4, out.length - 8, true);
  ascii('WAVE', 8);
  ascii('fmt ', 12);
  view.setUint32(16, fmt.length, true);
  out.set(fmt, 20);
  const dataAt = 20 + fmt.length;
  ascii('data', dataAt);
  view.setUint32(dataAt + 4, data.length, true);
  out.set(data, dataAt + 8);
  return out;
}

/** Decodes a WAV file; throws `AUDIO_INVALID` for anything that is not a readable WAV. */
export function decodeWav(bytes: Uint8Array): DecodedAudio {
  const { fmt, data } = locateChunks(bytes);
  if (fmt.length < 16) throw invalid(`the WAV fmt chunk is ${fmt.length} bytes, at least 16 are needed`);
  const fmtView = new DataView(fmt.buffer, fmt.byteOffset, fmt.byteLength);
  const channelCount = fmtView.getUint16(2, true);
  const sampleRate = fmtView.getUint32(4, true);
  const bitsPerSample = fmtView.getUint16(14, true);
  if (channelCount === 0) throw invalid('the WAV declares 0 channels');
  if (sampleRate === 0) throw invalid('the WAV declares a sample rate of 0');
  if (bitsPerSample === 0 || bitsPerSample % 8 !== 0) {
    throw invalid(`the WAV declares ${bitsPerSample} bits per sample`);
  }
  // A last frame cut short is dropped, as libsndfile does, rather than failing the de-interleave.
  const frameBytes = channelCount * (bitsPerSample / 8);
  const whole = data.subarray(0, data.length - (data.length % frameBytes));
  let decoded: { audioChannels: Float32Array[]; sampleRate: number };
  try {
    decoded = decodeWaveToFloat32Channels(canonicalWav(fmt, whole));
  } catch (error) {
    throw invalid(`the WAV cannot be decoded: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  if (decoded.audioChannels.length !== channelCount) {
    throw invalid(`the WAV declares ${channelCount} channels but decoded into ${decoded.audioChannels.length}`);
  }
  return { sampleRate: decoded.sampleRate, channels: decoded.audioChannels };
}
