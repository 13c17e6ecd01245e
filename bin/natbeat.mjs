#!/usr/bin/env node
// Runs the bundled CLI (built by `npm run build` into dist/cli/natbeat.mjs).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/cli/natbeat.mjs', import.meta.url));
if (existsSync(bundle)) {
  // With NATBEAT_DEBUG, stacks point at the sources (the bundle ships its source map).
  if (process.env.NATBEAT_DEBUG) process.setSourceMapsEnabled(true);
  await import(pathToFileURL(bundle).href);
} else {
  process.stderr.write(
    'natbeat: the CLI is not built yet (dist/cli/natbeat.mjs is missing).\n' +
      'Run `npm ci && npm run build` in the natbeat checkout, or run the sources directly with `npx tsx cli/main.ts`.\n',
  );
  process.exitCode = 1;
}
