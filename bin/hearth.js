#!/usr/bin/env node
'use strict';
// CommonJS (bin/package.json): an ES module entry is itself read through libuv's pool, which sizes
// itself on first use. So first, before anything runs work on that pool, an inference command gets
// the runtime environment in this very process (src/cli/launch.cts), and the CLI need not start a second one.
require('../dist/cli/launch.cjs').applyInPlace(process.argv, process.env);
import('../dist/cli/entry.js');
