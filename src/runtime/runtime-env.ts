import { usableCpus } from './machine.js';

/**
 * Environment the inference process must start with. node-llama-cpp runs each
 * decode on a libuv pool thread and ggml's CPU backend gives every calling
 * thread its own OpenMP team, whose idle workers spin. With libuv's default
 * of 4 pool threads on 2 cores those teams fight (measured here on a 60M
 * llama at 2 threads: 59–61 tok/s untamed, 128–183 tamed). One pool thread
 * per usable core keeps parallel embedding contexts possible (1 thread × 2
 * contexts was the best embedding setting), and a short spin makes idle teams
 * yield the core. Both variables are read once, when libuv and libgomp
 * start, so they must be in the environment at launch.
 */
export function runtimeEnv(): Record<string, string> {
  return { UV_THREADPOOL_SIZE: String(usableCpus()), GOMP_SPINCOUNT: '10000' };
}

/** The variables still missing from an environment (user-set values are respected). */
export function missingRuntimeEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(runtimeEnv()).filter(([key]) => env[key] === undefined || env[key] === ''));
}
