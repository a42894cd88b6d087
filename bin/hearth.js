#!/usr/bin/env node
'use strict';
// CommonJS (bin/package.json): an ES module entry is itself read through libuv's pool, which sizes
// itself on first use. So first, before anything runs work on that pool, an inference command gets
// the runtime environment in this very process (src/cli/launch.cts), and the CLI need not start a second one.
require('../dist/cli/launch.cjs').applyInPlace(process.argv, process.env);
// serve with a GGUF preload starts llama.cpp first, so that its binary check runs beside the CLI's
// imports (src/cli/serve-head-start.ts). A head start that fails is only a head start lost.
const headStart = process.argv.includes('serve') ? import('../dist/cli/serve-head-start.js').then((m) => m.startServeHeadStart(process.argv, process.env)) : Promise.resolve();
headStart.catch(() => undefined).then(() => import('../dist/cli/entry.js'));
