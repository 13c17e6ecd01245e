/**
 * A handler runtime for tests: given clients and settings, with the Logger's lines and the metrics
 * captured instead of printed.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { vi } from 'vitest';
import type { AwsClients } from '../../lambdas/core/clients';
import { DEFAULT_CONFIG, type ControllerConfig } from '../../lambdas/core/config';
import { createRuntime, type Runtime } from '../../lambdas/core/runtime';

/** The report table tests use unless they name their own (the moto worlds create it on first write). */
export const TEST_REPORT_TABLE = 'natbeat-reports';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  extra: Record<string, unknown>;
}

export interface TestRuntime {
  runtime: Runtime;
  logs: LogLine[];
  metrics: { name: string; value: number }[];
  /** Every captured line as `level message {json}`, for regex assertions. */
  text(): string;
}

export interface TestRuntimeOptions {
  clients: () => AwsClients;
  now: Date | (() => Date);
  /** Settings (default: DEFAULT_CONFIG and TEST_REPORT_TABLE, with these overrides); ignored when `env` is given. */
  config?: Partial<ControllerConfig>;
  /** Environment to load the settings from, as a cold start would. */
  env?: Record<string, string | undefined>;
}

export function testRuntime(options: TestRuntimeOptions): TestRuntime {
  const logger = new Logger({ serviceName: 'natbeat-test', logLevel: 'DEBUG' });
  const logs: LogLine[] = [];
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    vi.spyOn(logger, level).mockImplementation(((message: unknown, extra?: unknown) => {
      logs.push({ level, message: String(message), extra: (extra ?? {}) as Record<string, unknown> });
    }) as never);
  }
  // Metrics are captured here; the middleware's EMF output would only clutter the test log.
  const metricsStore = new Metrics({ namespace: 'natbeat-test', serviceName: 'natbeat-test' });
  vi.spyOn(metricsStore, 'publishStoredMetrics').mockImplementation(() => metricsStore);
  const metrics: { name: string; value: number }[] = [];
  vi.spyOn(metricsStore, 'addMetric').mockImplementation(((name: string, _unit: unknown, value: number) => {
    metrics.push({ name, value });
  }) as never);
  const now = options.now;
  const runtime = createRuntime({
    ...(options.env ? { env: options.env } : { config: { ...DEFAULT_CONFIG, reportTable: TEST_REPORT_TABLE, ...options.config } }),
    clients: options.clients,
    logger,
    metrics: metricsStore,
    now: typeof now === 'function' ? now : () => now,
  });
  return {
    runtime,
    logs,
    metrics,
    text: () => logs.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.extra)}`).join('\n'),
  };
}

/** Enough of a Lambda context for the middlewares. */
export const lambdaContext = {
  functionName: 'natbeat-test',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;
