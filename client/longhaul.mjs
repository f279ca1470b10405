#!/usr/bin/env node
// The `longhaul` command (package.json "bin"). Committed with its exec bit, unlike dist/client/cli.js, which every
// build writes anew without one; it only loads the build.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '../dist/client/cli.js');
if (!existsSync(cli)) {
  console.error('longhaul: the client is not built; run `npm run build` first');
  process.exit(1);
}
await import(pathToFileURL(cli).href);
