/**
 * CloudWatch: a metric store whose datapoints become visible a while after PutMetricData
 * (metricVisibilitySeconds), GetMetricData over it, and alarms (high resolution, evaluated every
 * 10 s; standard, every minute) whose state changes are announced (to EventBridge). An ingestion outage either rejects
 * PutMetricData or holds the data back until it ends.
 */
import { judgeRange, type AlarmState, type TreatMissingData } from './alarm-evaluation';
import { awsError } from './errors';
import type { Input, WorldContext } from './context';
import { draw } from '../random';

interface Datapoint {
  at: number;
  value: number;
  visibleAt: number;
}

export interface Dimension {
  Name: string;
  Value: string;
}

export type Statistic = 'Minimum' | 'Maximum' | 'Average' | 'Sum' | 'SampleCount';

export interface AlarmDefinition {
  name: string;
  namespace: string;
  metricName: string;
  dimensions: Dimension[];
  stat: Statistic;
  periodSeconds: number;
  evaluationPeriods: number;
  threshold: number;
  comparison: 'LessThanThreshold' | 'GreaterThanOrEqualToThreshold';
  /** @default evaluationPeriods */
  datapointsToAlarm?: number;
  treatMissingData: TreatMissingData;
  /**
   * high: evaluated every alarmEvaluationSeconds (10 s) [AWS]; standard: every 60 s [AWS].
   * @default 'high'
   */
  resolution?: 'high' | 'standard';
  /** The AZ it watches (for the timeline). */
  zone?: string;
}

export interface Alarm extends AlarmDefinition {
  state: AlarmState;
}

export interface IngestionOutage {
  from: number;
  until: number;
  /** reject: PutMetricData fails (5xx); delay: accepted, visible only after the outage. */
  mode: 'reject' | 'delay';
}

/** Sub-minute datapoints are kept 3 h (GetMetricData). */
const HIGH_RESOLUTION_RETENTION_MS = 3 * 3600 * 1000;
const ALLOWED_PERIODS = new Set([1, 5, 10, 20, 30]);

export class CloudWatchWorld {
  private readonly series = new Map<string, Datapoint[]>();
  readonly alarms: Alarm[] = [];
  readonly outages: IngestionOutage[] = [];
  onAlarmStateChange?: (alarm: Alarm, previous: Alarm['state']) => void;
  /** Requests and metrics read, for the cost model's sanity check. */
  readonly usage = { putMetricData: 0, getMetricData: 0, metricsRead: 0 };

  constructor(private readonly ctx: WorldContext) {}

  handle(command: string, input: Input): unknown {
    switch (command) {
      case 'PutMetricData':
        return this.putMetricData(input);
      case 'GetMetricData':
        return this.getMetricData(input);
      default:
        throw awsError('cloudwatch', 'InvalidAction', `The action ${command} is not valid for this endpoint.`);
    }
  }

  addAlarm(definition: AlarmDefinition): Alarm {
    const alarm: Alarm = { ...definition, state: 'OK' };
    this.alarms.push(alarm);
    return alarm;
  }

  /** High-resolution alarms every alarmEvaluationSeconds, standard ones every minute (all when no resolution is given). */
  evaluateAlarms(resolution?: 'high' | 'standard'): void {
    for (const alarm of this.alarms) {
      if (resolution !== undefined && (alarm.resolution ?? 'high') !== resolution) continue;
      const next = this.evaluate(alarm);
      if (next !== alarm.state) {
        const previous = alarm.state;
        alarm.state = next;
        this.ctx.timeline.record('alarm', `${alarm.name} ${previous} → ${next}`, alarm.zone);
        this.onAlarmStateChange?.(alarm, previous);
      }
    }
  }

  /**
   * The alarm's state now, by CloudWatch's documented algorithm (alarm-evaluation.ts) over an
   * evaluation range of max(alarmEvaluationRangePeriods, evaluationPeriods) whole periods, the
   * newest being the last period that has ended. A period's datapoint is the statistic of the
   * values visible now.
   */
  evaluate(alarm: Alarm | AlarmDefinition): AlarmState {
    const now = this.ctx.clock.now();
    const p = alarm.periodSeconds * 1000;
    const boundary = Math.floor(now / p) * p;
    const points = this.series.get(seriesKey(alarm.namespace, alarm.metricName, alarm.dimensions)) ?? [];
    const periods = Math.max(this.ctx.params.alarmEvaluationRangePeriods, alarm.evaluationPeriods);
    const range: (boolean | undefined)[] = [];
    for (let k = periods; k >= 1; k--) {
      const end = boundary - (k - 1) * p;
      const values = points.filter((d) => d.at >= end - p && d.at < end && d.visibleAt <= now).map((d) => d.value);
      range.push(values.length === 0 ? undefined : compare(alarm, aggregate(alarm.stat, values)));
    }
    return judgeRange(range, alarm, 'state' in alarm ? alarm.state : 'OK');
  }

  private ingestion(now: number): IngestionOutage | undefined {
    return this.outages.find((o) => now >= o.from && now < o.until);
  }

  private putMetricData(input: Input) {
    this.usage.putMetricData++;
    const now = this.ctx.clock.now();
    const namespace = input.Namespace as string | undefined;
    if (!namespace || namespace.startsWith('AWS/')) throw awsError('cloudwatch', 'InvalidParameterValue', `The value ${String(namespace)} for parameter Namespace is invalid.`);
    const data = (input.MetricData ?? []) as Input[];
    if (data.length === 0 || data.length > 1000) throw awsError('cloudwatch', 'InvalidParameterValue', 'The collection MetricData must contain between 1 and 1000 items.');
    const outage = this.ingestion(now);
    if (outage?.mode === 'reject') throw awsError('cloudwatch', 'InternalServiceFault', 'Internal service error.', 500);
    for (const datum of data) {
      if ((datum.Dimensions ?? []).length > 30) throw awsError('cloudwatch', 'InvalidParameterValue', 'The collection Dimensions must not contain more than 30 items.');
      if (datum.StorageResolution !== undefined && datum.StorageResolution !== 1 && datum.StorageResolution !== 60) {
        throw awsError('cloudwatch', 'InvalidParameterValue', 'StorageResolution must be 1 or 60.');
      }
      const at = datum.Timestamp ? new Date(datum.Timestamp).getTime() : now;
      if (at > now + 2 * 3600 * 1000 || at < now - 14 * 86400 * 1000) {
        throw awsError('cloudwatch', 'InvalidParameterValue', 'The parameter MetricData.member.1.Timestamp must specify a time within the past two weeks and not more than two hours in the future.');
      }
      const values: number[] = datum.Values ?? (datum.Value !== undefined ? [datum.Value] : []);
      const delayMs = draw(this.ctx.rng, this.ctx.params.metricVisibilitySeconds) * 1000;
      const visibleAt = Math.max(now + delayMs, outage ? outage.until : 0);
      const key = seriesKey(namespace, datum.MetricName, datum.Dimensions ?? []);
      let series = this.series.get(key);
      if (!series) this.series.set(key, (series = []));
      for (const value of values) series.push({ at, value, visibleAt });
      while (series.length > 0 && series[0]!.at < now - HIGH_RESOLUTION_RETENTION_MS) series.shift();
    }
    return {};
  }

  private getMetricData(input: Input) {
    this.usage.getMetricData++;
    const now = this.ctx.clock.now();
    const queries = (input.MetricDataQueries ?? []) as Input[];
    if (queries.length === 0 || queries.length > 500) throw awsError('cloudwatch', 'ValidationError', 'MetricDataQueries must contain between 1 and 500 queries.');
    const start = new Date(input.StartTime).getTime();
    const end = new Date(input.EndTime).getTime();
    if (!(start < end)) throw awsError('cloudwatch', 'ValidationError', 'The parameter StartTime must be less than the parameter EndTime.');
    this.usage.metricsRead += queries.length;
    const ascending = input.ScanBy === 'TimestampAscending';
    return {
      MetricDataResults: queries.map((q) => {
        const stat = q.MetricStat;
        if (!stat) throw awsError('cloudwatch', 'ValidationError', 'Only MetricStat queries are supported by this account.');
        const period = Number(stat.Period);
        if (!(ALLOWED_PERIODS.has(period) || (period > 0 && period % 60 === 0))) {
          throw awsError('cloudwatch', 'InvalidParameterValue', `The parameter Period must be 1, 5, 10, 20, 30 or a multiple of 60 (got ${period}).`);
        }
        const points = (this.series.get(seriesKey(stat.Metric.Namespace, stat.Metric.MetricName, stat.Metric.Dimensions ?? [])) ?? []).filter(
          (d) => d.at >= start && d.at < end && d.visibleAt <= now,
        );
        const buckets = new Map<number, number[]>();
        for (const d of points) {
          const bucket = Math.floor(d.at / (period * 1000)) * period * 1000;
          const list = buckets.get(bucket);
          if (list) list.push(d.value);
          else buckets.set(bucket, [d.value]);
        }
        const ordered = [...buckets].sort(([a], [b]) => (ascending ? a - b : b - a));
        return {
          Id: q.Id,
          Label: stat.Metric.MetricName,
          Timestamps: ordered.map(([t]) => new Date(t)),
          Values: ordered.map(([, values]) => aggregate(stat.Stat as Statistic, values)),
          StatusCode: 'Complete',
        };
      }),
      Messages: [],
    };
  }
}

export function seriesKey(namespace: string, metricName: string, dimensions: Dimension[]): string {
  const dims = [...dimensions].sort((a, b) => a.Name.localeCompare(b.Name)).map((d) => `${d.Name}=${d.Value}`);
  return `${namespace}|${metricName}|${dims.join(',')}`;
}

function aggregate(stat: Statistic, values: number[]): number {
  switch (stat) {
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'SampleCount':
      return values.length;
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
  }
}

function compare(alarm: AlarmDefinition, value: number): boolean {
  return alarm.comparison === 'LessThanThreshold' ? value < alarm.threshold : value >= alarm.threshold;
}
