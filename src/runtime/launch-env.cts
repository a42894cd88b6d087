/**
 * Environment the inference process must start with. node-llama-cpp runs each
 * decode on a libuv pool thread and ggml's CPU backend gives every calling
 * thread its own OpenMP team, whose idle workers spin. With several pool
 * threads, decodes land on different threads and their teams fight over the
 * cores. Measured through `hearth run` on a 27M llama, 2 threads, 2 vCPUs:
 * untamed 59–61 tok/s; UV_THREADPOOL_SIZE=2 58–145 (bimodal); =1 148–188.
 * One pool thread means one team, reused; a short spin makes it yield the
 * core between decodes. Each variable is read once: UV_THREADPOOL_SIZE when
 * libuv's pool first runs work, GOMP_SPINCOUNT when libgomp loads. An ES
 * module entry is itself read through the pool, so from one the process is
 * already too late, and the CLI relaunches itself.
 *
 * CommonJS, so that bin/hearth.js can apply it synchronously before
 * anything touches the pool, in its own process (see src/cli/launch.cts).
 */
function runtimeEnv(): Record<string, string> {
  return { UV_THREADPOOL_SIZE: '1', GOMP_SPINCOUNT: '10000' };
}

/** The variables still missing from an environment (user-set values are respected). */
function missingRuntimeEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(runtimeEnv()).filter(([key]) => env[key] === undefined || env[key] === ''));
}

export = { runtimeEnv, missingRuntimeEnv };
