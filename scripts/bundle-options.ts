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
