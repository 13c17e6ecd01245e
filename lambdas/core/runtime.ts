/**
 * What a Lambda needs at run time, built once per execution environment: settings (validated at
 * cold start), Powertools Logger and Metrics, and the AWS clients. Handlers take it as a
 * parameter so tests pass their own.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { CONTROLLER_SERVICE, ControllerMetric } from '../../common/controller-metrics';
import { HEARTBEAT_NAMESPACE } from '../../common/heartbeat';
import { createAwsClients, type AwsClients } from './clients';
import { loadConfig, type ControllerConfig } from './config';
import { ConfigError } from './errors';
import type { ActionLog } from './log';
import type { MetricsSink } from './reconcile';

export interface Runtime {
  /** The validated settings, or the error that names the bad one (then every run does nothing). */
  config: ControllerConfig | ConfigError;
  clients: () => AwsClients;
  logger: Logger;
  metrics: Metrics;
  now: () => Date;
  /** Waits (a simulator passes its virtual clock's sleep). */
  sleep: (ms: number) => Promise<void>;
}

export function createRuntime(overrides: Partial<Runtime> & { env?: Record<string, string | undefined> } = {}): Runtime {
  let config: ControllerConfig | ConfigError;
  if (overrides.config) config = overrides.config;
  else {
    try {
      config = loadConfig(overrides.env ?? process.env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      config = error;
    }
  }
  let clients: AwsClients | undefined;
  const serviceName = (overrides.env ?? process.env).POWERTOOLS_SERVICE_NAME || CONTROLLER_SERVICE;
  return {
    config,
    // Created on first use and then reused across warm invocations.
    clients:
      overrides.clients ??
      (() => (clients ??= createAwsClients({ maxAttempts: config instanceof ConfigError ? undefined : config.maxAttempts }))),
    logger: overrides.logger ?? new Logger({ serviceName }),
    metrics: overrides.metrics ?? new Metrics({ namespace: HEARTBEAT_NAMESPACE, serviceName }),
    now: overrides.now ?? (() => new Date()),
    sleep: overrides.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  };
}

export function metricsSink(metrics: Metrics): MetricsSink {
  return { add: (name, value) => metrics.addMetric(name, MetricUnit.Count, value) };
}

/** Logs a configuration error and counts it, so the Errors alarm pages instead of a silent no-op. */
export function reportConfigError(runtime: Runtime, error: ConfigError): { status: 'config-error'; message: string } {
  runtime.logger.error(error.message, { problems: error.context.problems });
  runtime.metrics.addMetric(ControllerMetric.Errors, MetricUnit.Count, 1);
  return { status: 'config-error', message: error.message };
}

/** Powertools' Logger as the core's ActionLog (extra keys become top-level JSON fields). */
export function actionLog(logger: Logger): ActionLog {
  return {
    debug: (message, extra) => (extra ? logger.debug(message, extra) : logger.debug(message)),
    info: (message, extra) => (extra ? logger.info(message, extra) : logger.info(message)),
    warn: (message, extra) => (extra ? logger.warn(message, extra) : logger.warn(message)),
    error: (message, extra) => (extra ? logger.error(message, extra) : logger.error(message)),
  };
}
