/**
 * esbuild settings shared by every natbeat bundle (scripts/build.ts, the CDK agent asset, the agent
 * tests): one ESM file for Node, minified, with source maps and the AWS SDK inside.
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
 * entry points. The AWS SDK is bundled: the version the tests ran is the version that runs.
 */
export const LAMBDA_BUNDLE_OPTIONS = {
  ...NODE_BUNDLE_OPTIONS,
  target: 'node22',
  mainFields: ['module', 'main'],
} as const satisfies BuildOptions;

/** The controller Lambdas' entry points; each bundles to `lambdas/<name>/index.mjs`. */
export const LAMBDA_ENTRIES = {
  reconcile: 'lambdas/reconcile/handler.ts',
  intake: 'lambdas/intake/handler.ts',
} as const;
