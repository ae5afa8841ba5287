#!/usr/bin/env node
// The build's one-file bundle of dist/src/cli/main.js (see rolldown.config.js).
import { main } from '../dist/certdesk.mjs';

await main(process.argv);
