import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Integration tests start their own moto server and network namespaces; give them room.
    testTimeout: 30_000,
    // The SDK's notice that its 2027 releases need Node 22 is not news to a test run.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    hookTimeout: 60_000,
    coverage: {
      provider: 'v8',
      include: ['lambdas/**', 'agent/**', 'common/**', 'cli/**'],
    },
  },
});
