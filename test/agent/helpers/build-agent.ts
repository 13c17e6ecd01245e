/** Bundles only the agent (the same esbuild options as scripts/build.ts), so agent tests do not depend on other bundles. */
import { build } from 'esbuild';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_BUNDLE_OPTIONS } from '../../../scripts/bundle-options';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Builds to `outFile` and returns its path. */
export async function buildAgentBundle(outFile = resolve(REPO_ROOT, 'dist/agent/natbeat-agent.mjs')): Promise<string> {
  await mkdir(dirname(outFile), { recursive: true });
  await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [resolve(REPO_ROOT, 'agent/main.ts')],
    outfile: outFile,
    ...NODE_BUNDLE_OPTIONS,
  });
  return outFile;
}
