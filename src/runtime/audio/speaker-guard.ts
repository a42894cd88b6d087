import { HearthError } from '../../errors/index.js';
import type { LoadedModel } from '../types.js';

/** A loaded model that embeds audio. */
export type SpeakerModel = LoadedModel & Required<Pick<LoadedModel, 'embedAudio' | 'speaker'>>;

/**
 * The model as a speaker model, or MODEL_UNSUPPORTED saying what it does instead. `context` says where
 * audio was asked of it (a collection, a space), for the message.
 */
export function asSpeakerModel(model: LoadedModel, name: string, context?: string): SpeakerModel {
  if (model.embedAudio && model.speaker) return model as SpeakerModel;
  const capabilities = model.info.capabilities;
  throw new HearthError('MODEL_UNSUPPORTED', `${name} does not embed audio (it can: ${capabilities.join(', ')})${context ? `; ${context}` : ''}`, {
    details: { model: name, capabilities },
    hint: 'use a SpeechBrain speaker repo such as hf:speechbrain/spkrec-ecapa-voxceleb',
  });
}
