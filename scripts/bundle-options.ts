/**
 * esbuild settings shared by every natbeat bundle (scripts/build.ts, the CDK agent asset, the agent
 * tests): ESM for Node, minified, with source maps and the AWS SDK inside. The agent and the CLI
 * are one file each; the Lambdas are split (LAMBDA_BUNDLE_OPTIONS).
 */
import type { BuildOptions } from 'esbuild';

export const NODE_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  // Some dependencies still call require(); give ESM bundles a require of their own.
  banner: { js: "import { createRequire as __natbeatRequire } from 'node:module'; const require = __natbeatRequire(import.meta.url);" },
  logLevel: 'warning',
} as const satisfies BuildOptions;

/**
 * The controller Lambdas: the same, for the Lambda runtime (nodejs22.x), preferring packages' ESM
 * entry points (tree-shakable). The AWS SDK is bundled: the version the tests ran is the version
 * that runs (and a bundled, tree-shaken SDK imports faster than the runtime's own: docs/development.md).
 *
 * Code split (ESM only): what a module loads with `await import()` becomes a chunk file of its own,
 * read only when that import runs. The SDK loads its rarely used credential providers that way
 * (SSO, STS, shared ini files, login, the process provider), which Lambda, with its credentials in
 * the environment, never runs: they no longer cost every cold start a parse. Each bundle is a
 * directory: `index.mjs` (the handler) and its chunks. Build them with `buildLambdaBundle` (infra/lib/bundles.ts),
 * which also applies `literalSchemaKeys`.
 */
export const LAMBDA_BUNDLE_OPTIONS = {
  ...NODE_BUNDLE_OPTIONS,
  target: 'node22',
  mainFields: ['module', 'main'],
  splitting: true,
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  outExtension: { '.js': '.mjs' },
} as const satisfies BuildOptions;

/** The AWS SDK clients' generated schema modules, rewritten by `literalSchemaKeys` when bundled. */
export const SDK_SCHEMA_MODULE = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/;

/**
 * Turns the computed keys of an SDK schema module's trait objects (`{ [_xN]: _m }`, `_xN` being
 * the module's own `const _xN = "xmlName"`) into the literal keys they stand for
 * (`{ "xmlName": _m }`): the same objects. Since SDK 3.930 the schemas are generated with computed
 * keys, and esbuild must assume a computed key may run code, so it keeps every schema of a client
 * whether used or not (aws-sdk-js-v3#7607; the generator fix is smithy-typescript#1889). With
 * literal keys the unused ones are tree-shaken: the EC2 client's schemas go from 555 KB to 41 KB
 * of the reconcile bundle. A module without such keys comes back unchanged.
 * Self-contained on purpose: it is also run, as source text, by the bundling process.
 */
export function literalSchemaKeys(source: string): string {
  const strings = new Map<string, string>();
  for (const m of source.matchAll(/^const (_\w+) = ("(?:[^"\\\n]|\\.)*");$/gm)) strings.set(m[1] as string, m[2] as string);
  return source.replace(/\[(_\w+)\]:/g, (whole: string, id: string) => {
    const key = strings.get(id);
    // A literal `__proto__` key would set the prototype instead of making a property.
    return key === undefined || JSON.parse(key) === '__proto__' ? whole : `${key}:`;
  });
}

/** The controller Lambdas' entry points; each bundles to `lambdas/<name>/index.mjs`. */
export const LAMBDA_ENTRIES = {
  reconcile: 'lambdas/reconcile/handler.ts',
  intake: 'lambdas/intake/handler.ts',
} as const;
