/**
 * The library part of the npm package (run by `prepack` after `npm run build`):
 * - dist/lib/index.mjs: the CDK constructs as one ESM file; aws-cdk-lib and constructs stay the
 *   app's own (peer dependencies), esbuild is loaded only to bundle from sources. Built with the
 *   flag that makes the constructs use the bundles under dist/ instead of bundling at synth.
 * - dist/types/: the declarations (tsc), with relative imports spelled the way Node resolves them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { AGENT_PACKAGE_DIR, controllerDir } from '../infra/lib/bundles';
import { LAMBDA_ENTRIES, NODE_BUNDLE_OPTIONS } from './bundle-options';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');

// The constructs will point at these; a package without them would fail at the user's synth.
const required = [
  ...Object.keys(LAMBDA_ENTRIES).map((name) => path.join(controllerDir(name as keyof typeof LAMBDA_ENTRIES), 'index.mjs')),
  path.join(AGENT_PACKAGE_DIR, 'natbeat-agent.mjs'),
  'cli/natbeat.mjs',
];
for (const file of required) {
  if (!existsSync(path.join(dist, file))) throw new Error(`dist/${file} is missing: run \`npm run build\` first`);
}

rmSync(path.join(dist, 'lib'), { recursive: true, force: true });
rmSync(path.join(dist, 'types'), { recursive: true, force: true });
buildSync({
  ...NODE_BUNDLE_OPTIONS,
  entryPoints: [path.join(root, 'infra/lib/index.ts')],
  outfile: path.join(dist, 'lib/index.mjs'),
  // Readable in the user's stack traces; the CDK libraries are the app's, not ours.
  minify: false,
  banner: {},
  external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'esbuild'],
  define: { NATBEAT_PREBUILT_BUNDLES: 'true' },
  absWorkingDir: root,
});

execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.package.json')], { stdio: 'inherit' });
for (const file of walk(path.join(dist, 'types'))) {
  if (file.endsWith('.d.ts')) writeFileSync(file, withNodeSpecifiers(file, readFileSync(file, 'utf8')));
}
console.log('dist/lib/index.mjs, dist/types/ written');

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else yield full;
  }
}

/**
 * The sources import `./x` (bundler resolution); an ESM consumer's TypeScript (node16/nodenext)
 * resolves only `./x.js` or `./x/index.js` in the declarations of a `"type": "module"` package.
 */
function withNodeSpecifiers(file: string, text: string): string {
  return text.replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\2/g, (match, lead: string, quote: string, spec: string) => {
    if (/\.(js|mjs|json)$/.test(spec)) return match;
    const target = path.resolve(path.dirname(file), spec);
    const resolved = existsSync(`${target}.d.ts`) ? `${spec}.js` : existsSync(path.join(target, 'index.d.ts')) ? `${spec}/index.js` : undefined;
    if (!resolved) throw new Error(`${path.relative(dist, file)}: cannot resolve the declaration of ${spec}`);
    return `${lead}${quote}${resolved}${quote}`;
  });
}
