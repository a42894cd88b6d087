/** hearth's version, reported by the CLI and the API. Keep in step with package.json. */
export const HEARTH_VERSION = '0.1.0';
