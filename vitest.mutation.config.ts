import { defineConfig } from 'vitest/config';
import base from './vitest.config';

/**
 * The tests a mutation run executes: only those that exercise the mutated files, so a run stays
 * feasible on a small machine. The real-kernel tests among them run the agent's code in-process (a
 * bundled agent in a child process would not see the active mutant) and skip themselves when not root.
 */
export default defineConfig({
  test: {
    setupFiles: base.test?.setupFiles,
    testTimeout: base.test?.testTimeout,
    hookTimeout: base.test?.hookTimeout,
    include: process.env.NATBEAT_MUTATION_TESTS?.split(',') ?? [
      'test/lambdas/decide*.test.ts',
      'test/lambdas/act*.test.ts',
      'test/lambdas/handover.test.ts',
      'test/lambdas/reconcile-*.test.ts',
      'test/lambdas/lifecycle-handler.test.ts',
      'test/agent/probes*.test.ts',
      'test/agent/egress-interface.test.ts',
      'test/agent/setup*.test.ts',
      'test/agent/parsers.test.ts',
    ],
    // Fewer random cases per property: every mutant that survives runs each test that covers it.
    env: { ...base.test?.env, NATBEAT_PROPERTY_RUNS: '60' },
  },
});
