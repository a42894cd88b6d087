import { audioLoad, type AudioLoadSpec } from '../load/audio-load.js';
import { childMain } from './child-io.js';

/** A1's load generator, in its own process so it never shares an event loop (or CPU accounting) with the server. */
childMain<AudioLoadSpec, unknown>((spec) => audioLoad(spec));
