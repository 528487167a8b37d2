#!/usr/bin/env node
// `npm start [-- serve flags]`: install the dependencies when they are missing or stale,
// build, then run `keyhold serve` in this same process, so that the signals npm passes on
// (SIGTERM, SIGINT) reach the server itself. Standard library only until the build is done.
import { execSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureDeps } from './deps.mjs';

ensureDeps();
execSync('npm run build --silent', { stdio: 'inherit' });

const main = resolve('dist/src/cli/main.js');
process.argv = [process.argv[0], main, 'serve', ...process.argv.slice(2)];
await import(pathToFileURL(main).href);
