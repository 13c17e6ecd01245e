/**
 * Bundles every deployable into dist/ with esbuild: one ESM file per Lambda, the agent and the CLI.
 * The Lambdas bundle the AWS SDK on purpose: the version we test is the version that runs.
 */
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { NODE_BUNDLE_OPTIONS } from './bundle-options';

const entries = [
  { in: 'lambdas/reconcile/handler.ts', out: 'lambdas/reconcile/index' },
  { in: 'lambdas/intake/handler.ts', out: 'lambdas/intake/index' },
  { in: 'agent/main.ts', out: 'agent/natbeat-agent' },
  { in: 'cli/main.ts', out: 'cli/natbeat' },
];

await rm('dist', { recursive: true, force: true });
const result = await build({
  entryPoints: entries,
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  ...NODE_BUNDLE_OPTIONS,
  metafile: true,
});
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith('.mjs')) console.log(`${file}\t${(info.bytes / 1024).toFixed(0)} KiB`);
}
