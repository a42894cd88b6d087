import launchEnv from './launch-env.cjs';

/** The runtime environment (launch-env.cts), for ES modules. */
export const { runtimeEnv, missingRuntimeEnv } = launchEnv;
