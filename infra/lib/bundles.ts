/**
 * Where the code natbeat deploys comes from. An installed package ships its Lambda and agent
 * bundles, built when it was packed: synth then needs neither the sources nor esbuild. In a
 * checkout (or with the `sourceRoot` prop) the same bundles are built from the sources at synth,
 * locally with esbuild, never in Docker.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AssetHashType, DockerImage, type BundlingOptions } from 'aws-cdk-lib';
import type { BuildOptions } from 'esbuild';
import { LAMBDA_BUNDLE_OPTIONS, LAMBDA_ENTRIES, literalSchemaKeys, SDK_SCHEMA_MODULE } from '../../scripts/bundle-options';
import { fail, NATBEAT_SOURCE_ROOT } from './settings';

/** Set to true by the package build (esbuild `define`); undefined when running from sources. */
declare const NATBEAT_PREBUILT_BUNDLES: boolean | undefined;

/** Directory of the agent package inside `dist/` (bundle, systemd unit, install.sh). */
export const AGENT_PACKAGE_DIR = 'agent';

export type ControllerBundle = keyof typeof LAMBDA_ENTRIES;

/**
 * How to get the code: `prebuilt` is the directory of ready bundles (an installed package, no
 * `sourceRoot` given); otherwise `sourceRoot` is bundled at synth.
 */
export type CodeSource = { readonly prebuilt: string } | { readonly sourceRoot: string };

export function codeSource(sourceRoot: string | undefined): CodeSource {
  const packaged = typeof NATBEAT_PREBUILT_BUNDLES !== 'undefined' && NATBEAT_PREBUILT_BUNDLES;
  if (sourceRoot === undefined && packaged) return { prebuilt: path.join(NATBEAT_SOURCE_ROOT, 'dist') };
  return { sourceRoot: sourceRoot ?? NATBEAT_SOURCE_ROOT };
}

/**
 * An asset's `path` and options: the prebuilt directory as it is, or the source directory with a
 * local bundling step whose output (not the sources) is hashed.
 */
export function assetFrom(
  source: CodeSource,
  prebuiltSubdir: string,
  sourceSubdir: string,
  build: (sourceRoot: string, outputDir: string) => void,
): { path: string; assetHashType?: AssetHashType; bundling?: BundlingOptions } {
  if ('prebuilt' in source) return { path: path.join(source.prebuilt, prebuiltSubdir) };
  const { sourceRoot } = source;
  return {
    path: path.join(sourceRoot, sourceSubdir),
    // The bundle also pulls in common/ and node_modules: hash what we ship, not one directory.
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never used: local bundling always succeeds or throws, so Docker is never started.
      image: DockerImage.fromRegistry('natbeat-local-bundling-only'),
      local: {
        tryBundle(outputDir: string): boolean {
          build(sourceRoot, outputDir);
          return true;
        },
      },
    },
  };
}

/** esbuild, loaded only when bundling from sources (an installed package does not need it). */
export function loadEsbuild(): typeof import('esbuild') {
  return createRequire(import.meta.url)(resolveEsbuild()) as typeof import('esbuild');
}

/** Directory of a controller Lambda's bundle, in `dist/` and in the sources alike. */
export function controllerDir(name: ControllerBundle): string {
  return `lambdas/${name}`;
}

/** Bundles one controller Lambda into `outputDir`: `index.mjs` (the handler), its chunks, source maps. */
export function bundleController(name: ControllerBundle, sourceRoot: string, outputDir: string): void {
  buildWithSchemaKeys({
    ...LAMBDA_BUNDLE_OPTIONS,
    entryPoints: { index: path.join(sourceRoot, LAMBDA_ENTRIES[name]) },
    outdir: outputDir,
    absWorkingDir: sourceRoot,
  });
}

/**
 * esbuild with the SDK schema modules rewritten by `literalSchemaKeys`. That takes a plugin, which
 * esbuild runs only in its asynchronous API, while CDK bundles synchronously: so the build runs in
 * a child Node process, and this waits for it. Throws with esbuild's messages when it fails.
 */
export function buildWithSchemaKeys(options: Omit<BuildOptions, 'plugins'>): void {
  const esbuildUrl = pathToFileURL(resolveEsbuild()).href;
  const script = `
    import { readFile } from 'node:fs/promises';
    import { readFileSync } from 'node:fs';
    const esbuild = await import(${JSON.stringify(esbuildUrl)});
    const { build } = esbuild.build ? esbuild : esbuild.default;
    const literalSchemaKeys = ${literalSchemaKeys.toString()};
    const plugin = {
      name: 'natbeat-sdk-schema-keys',
      setup(b) {
        b.onLoad({ filter: new RegExp(${JSON.stringify(SDK_SCHEMA_MODULE.source)}) }, async (args) => ({
          contents: literalSchemaKeys(await readFile(args.path, 'utf8')),
          loader: 'js',
        }));
      },
    };
    try {
      await build({ ...JSON.parse(readFileSync(0, 'utf8')), plugins: [plugin] });
    } catch {
      process.exit(1); // esbuild has printed its errors (logLevel)
    }
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(options), encoding: 'utf8' });
  if (child.error) throw child.error;
  if (child.stderr) process.stderr.write(child.stderr);
  if (child.status !== 0) throw new Error(`esbuild failed for ${JSON.stringify(options.entryPoints)}:\n${child.stderr}`);
}

function resolveEsbuild(): string {
  try {
    return createRequire(import.meta.url).resolve('esbuild');
  } catch {
    return fail('esbuild is not installed; run `npm ci` (natbeat bundles its code locally from sources and never uses Docker)');
  }
}
