/**
 * Powertools for the simulated Lambdas: a Logger that prints nothing (the timeline tells the
 * story) and a Metrics whose EMF output is captured instead of written to stdout.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CONTROLLER_NAMESPACE, CONTROLLER_SERVICE } from '../common/controller-metrics';

export function quietLogger(): Logger {
  return new Logger({ serviceName: CONTROLLER_SERVICE, logLevel: 'SILENT' });
}

const silentConsole = { warn: () => undefined, error: () => undefined, info: () => undefined, debug: () => undefined, log: () => undefined };

/** Sums every metric the controller emitted, by name. */
export class CapturingMetrics extends Metrics {
  readonly totals: Record<string, number> = {};

  constructor() {
    super({ namespace: CONTROLLER_NAMESPACE, serviceName: CONTROLLER_SERVICE, logger: silentConsole });
  }

  override publishStoredMetrics(): this {
    try {
      if (this.hasStoredMetrics()) {
        const emf = this.serializeMetrics() as unknown as Record<string, unknown>;
        for (const [key, value] of Object.entries(emf)) {
          if (typeof value === 'number') this.totals[key] = (this.totals[key] ?? 0) + value;
          else if (Array.isArray(value) && value.every((v) => typeof v === 'number')) {
            this.totals[key] = (this.totals[key] ?? 0) + value.reduce((a: number, b: number) => a + b, 0);
          }
        }
      }
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }
}
