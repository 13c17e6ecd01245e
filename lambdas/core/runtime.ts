/**
 * What a Lambda needs at run time, built once per execution environment: settings (validated at
 * cold start), Powertools Logger and Metrics, and the AWS clients. Handlers take it as a
 * parameter so tests pass their own.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { CONTROLLER_NAMESPACE, CONTROLLER_SERVICE, ControllerMetric } from '../../common/controller-metrics';
import { createAwsClients, type AwsClients } from './clients';
import { loadConfig, type ControllerConfig } from './config';
import { ConfigError, errorMessage } from './errors';
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
    metrics: overrides.metrics ?? new Metrics({ namespace: CONTROLLER_NAMESPACE, serviceName }),
    now: overrides.now ?? (() => new Date()),
    sleep: overrides.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  };
}

export function metricsSink(metrics: Metrics): MetricsSink {
  return { add: (name, value) => metrics.addMetric(name, MetricUnit.Count, value) };
}

/**
 * Logs a failed run, counts it, and throws it on. A handler that caught the error and returned a
 * status would leave Lambda's own Errors metric at zero and keep the event from the dead-letter
 * queue; thrown, both see it (retries stay off: the next trigger runs a fresh reconcile anyway).
 */
export function failRun(runtime: Runtime, message: string, error: unknown, extra: Record<string, unknown> = {}): never {
  runtime.logger.error(message, { error: errorMessage(error), ...extra });
  runtime.metrics.addMetric(ControllerMetric.Errors, MetricUnit.Count, 1);
  throw error;
}

/** A configuration error fails every run (logged with each bad setting), so the Errors alarm pages. */
export function failOnConfigError(runtime: Runtime, error: ConfigError): never {
  return failRun(runtime, error.message, error, { problems: error.context.problems });
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
