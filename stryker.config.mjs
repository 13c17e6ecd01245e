// Mutation testing of the controller's core and the agent's probes and setup (`npm run mutation`).
// Wording is not behaviour: string literals are not mutated. Nothing else is excluded.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: [
    'lambdas/core/decide.ts',
    'lambdas/core/assess.ts',
    'lambdas/core/act.ts',
    'lambdas/core/observe.ts',
    'agent/probes/*.ts',
    'agent/setup.ts',
    'agent/probe-source.ts',
  ],
  mutator: { excludedMutations: ['StringLiteral'] },
  // Two test runners at most: the machine it was tuned on has two cores.
  concurrency: 2,
  timeoutMS: 10_000,
  reporters: ['json', 'clear-text', 'progress-append-only'],
  // Separate report files let runs over different files proceed side by side.
  jsonReporter: { fileName: process.env.NATBEAT_MUTATION_REPORT ?? 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true, reportScoreTable: true },
  ignorePatterns: ['cdk.out', 'dist', 'coverage', 'sim-output', 'reports'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
