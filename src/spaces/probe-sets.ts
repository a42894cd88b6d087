import { HearthError } from '../errors/index.js';
import { asSpeakerModel } from '../runtime/audio/speaker-guard.js';
import type { LoadedModel } from '../runtime/types.js';
import { AUDIO_PROBE_SET_ID, audioProbes, audioProbeSetDigest } from './audio-probe-set.js';
import { PROBE_SET_DIGEST, PROBE_SET_ID, PROBES } from './probe-set.js';

/** A probe set a space can be made with: texts for text embedders, clips for speaker models. */
export interface ProbeSetRef {
  id: string;
  digest: string;
}

/** The set a new space of this model is made with. */
export function probeSetFor(model: LoadedModel): ProbeSetRef {
  return model.embedAudio ? { id: AUDIO_PROBE_SET_ID, digest: audioProbeSetDigest() } : { id: PROBE_SET_ID, digest: PROBE_SET_DIGEST };
}

/** How many probes a known set holds; undefined for a set this hearth does not know (or whose content differs). */
export function probeCount(set: ProbeSetRef): number | undefined {
  if (set.id === PROBE_SET_ID && set.digest === PROBE_SET_DIGEST) return PROBES.length;
  if (set.id === AUDIO_PROBE_SET_ID && set.digest === audioProbeSetDigest()) return audioProbes().length;
  return undefined;
}

/** The probes' vectors as `model` makes them; a space of clips needs a model that embeds audio, and text one that embeds text. */
export async function embedProbeSet(model: LoadedModel, set: ProbeSetRef, ref: string, signal: AbortSignal | undefined): Promise<Float32Array[]> {
  if (set.id === AUDIO_PROBE_SET_ID) {
    return asSpeakerModel(model, ref, `this space's probes are audio clips (${set.id})`).embedAudio(audioProbes(), { signal });
  }
  if (model.embedAudio) throw new HearthError('MODEL_UNSUPPORTED', `${ref} embeds audio, and this space's probes are texts (${set.id})`);
  return (await model.embed(PROBES, { truncate: true, signal })).vectors;
}
