/**
 * Environment the inference process must start with. node-llama-cpp runs each
 * decode on a libuv pool thread and ggml's CPU backend gives every calling
 * thread its own OpenMP team, whose idle workers spin. With several pool
 * threads, decodes land on different threads and their teams fight over the
 * cores. Measured through `hearth run` on a 27M llama, 2 threads, 2 vCPUs:
 * untamed 59–61 tok/s; UV_THREADPOOL_SIZE=2 58–145 (bimodal); =1 148–188.
 * One pool thread means one team, reused; a short spin makes it yield the
 * core between decodes. Both variables are read once, when libuv and libgomp
 * start, so they must be in the environment at launch.
 */
export function runtimeEnv(): Record<string, string> {
  return { UV_THREADPOOL_SIZE: '1', GOMP_SPINCOUNT: '10000' };
}

/** The variables still missing from an environment (user-set values are respected). */
export function missingRuntimeEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(runtimeEnv()).filter(([key]) => env[key] === undefined || env[key] === ''));
}
