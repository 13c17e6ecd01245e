/**
 * Bundles every deployable into dist/ with esbuild: one ESM directory per Lambda (`index.mjs` and
 * the chunks it loads on demand), the agent package
 * (bundle, systemd unit, install.sh) and the CLI. The Lambdas and the agent are built by the same
 * functions the CDK construct uses when it bundles from sources, so the two cannot differ. The
 * Lambdas bundle the AWS SDK on purpose: the version we test is the version that runs.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { stageAgentPackage } from '../infra/lib/agent-asset';
import { AGENT_PACKAGE_DIR, bundleController, controllerDir } from '../infra/lib/bundles';
import { LAMBDA_ENTRIES, NODE_BUNDLE_OPTIONS } from './bundle-options';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');

for (const dir of ['lambdas', AGENT_PACKAGE_DIR, 'cli']) rmSync(path.join(dist, dir), { recursive: true, force: true });
const outputs: string[] = [];
for (const name of Object.keys(LAMBDA_ENTRIES) as (keyof typeof LAMBDA_ENTRIES)[]) {
  const outDir = path.join(dist, controllerDir(name));
  mkdirSync(outDir, { recursive: true });
  bundleController(name, root, outDir);
  outputs.push(outDir);
}
const agentDir = path.join(dist, AGENT_PACKAGE_DIR);
mkdirSync(agentDir, { recursive: true });
stageAgentPackage(root, agentDir);
outputs.push(path.join(agentDir, 'natbeat-agent.mjs'));
buildSync({ ...NODE_BUNDLE_OPTIONS, entryPoints: ['cli/main.ts'], outfile: path.join(dist, 'cli/natbeat.mjs'), absWorkingDir: root });
outputs.push(path.join(dist, 'cli/natbeat.mjs'));
for (const output of outputs) console.log(`${path.relative(root, output)}\t${(codeBytes(output) / 1024).toFixed(0)} KiB`);

/** Bytes of JavaScript in a file, or in a bundle directory's `.mjs` files (source maps aside). */
function codeBytes(output: string): number {
  if (!statSync(output).isDirectory()) return statSync(output).size;
  return readdirSync(output).filter((f) => f.endsWith('.mjs')).reduce((sum, f) => sum + statSync(path.join(output, f)).size, 0);
}
