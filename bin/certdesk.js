#!/usr/bin/env node
// Runs the build's one-file bundle of dist/src/cli/main.js (see rolldown.config.js) with V8's
// compiled code cached beside it (dist/src/cli/bundle_loader.js).
import { fileURLToPath } from 'node:url';
import { loadBundle } from '../dist/src/cli/bundle_loader.js';

const bundle = loadBundle(fileURLToPath(new URL('../dist/certdesk.cjs', import.meta.url)));
await bundle.exports.main(process.argv);
// Once the server listens, start-up has compiled what the next start needs.
if (process.argv[2] === 'serve' && bundle.cache !== 'used') bundle.saveCache();
