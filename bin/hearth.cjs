#!/usr/bin/env node
'use strict';
// First, before anything runs work on libuv's pool: an inference command gets the runtime
// environment in this very process (src/cli/launch.cts), so the CLI need not start a second one.
require('../dist/cli/launch.cjs').applyInPlace(process.argv, process.env);
import('../dist/cli/entry.js');
