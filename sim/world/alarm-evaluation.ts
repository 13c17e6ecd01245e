/**
 * How a CloudWatch metric alarm judges its datapoints, including missing ones, as the CloudWatch
 * user guide documents it ("Using Amazon CloudWatch alarms" → "How alarm state is evaluated when
 * data is missing" and "Avoiding premature transitions to alarm state"):
 *
 * - CloudWatch retrieves more periods than EvaluationPeriods: the *evaluation range*. Its size is
 *   not documented (the guide's example retrieves 5 for 3 evaluation periods), so it is a
 *   parameter here.
 * - When the range holds at least EvaluationPeriods real datapoints, the most recent
 *   EvaluationPeriods real ones are judged and TreatMissingData does not apply.
 * - Otherwise every real datapoint of the range is judged and just enough missing ones are filled
 *   in with TreatMissingData (breaching / notBreaching) to make EvaluationPeriods.
 * - `missing` and `ignore` fill nothing. The premature-alarm rule: when every real datapoint is
 *   breaching and the oldest breaching one within the last EvaluationPeriods periods is at least
 *   DatapointsToAlarm periods old, the alarm goes to ALARM under `missing`; `ignore` keeps its
 *   state. With no real datapoint at all, `missing` gives INSUFFICIENT_DATA and `ignore` keeps
 *   the state.
 *
 * The guide's two worked tables are the unit tests of this function (test/sim/alarm-evaluation.test.ts).
 */
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
export type TreatMissingData = 'breaching' | 'notBreaching' | 'missing' | 'ignore';

export interface EvaluationRule {
  evaluationPeriods: number;
  /** @default evaluationPeriods */
  datapointsToAlarm?: number;
  treatMissingData: TreatMissingData;
}

/**
 * `range`: one entry per period of the evaluation range, oldest first, newest last: true for a
 * breaching datapoint, false for a non-breaching one, undefined for a period without data.
 */
export function judgeRange(range: readonly (boolean | undefined)[], rule: EvaluationRule, current: AlarmState): AlarmState {
  const n = rule.evaluationPeriods;
  const m = rule.datapointsToAlarm ?? n;
  if (!(n >= 1 && m >= 1 && m <= n)) throw new RangeError(`need 1 ≤ datapointsToAlarm ≤ evaluationPeriods (got ${m} of ${n})`);
  const real = range.filter((d): d is boolean => d !== undefined);
  const verdict = (breaching: number) => (breaching >= m ? 'ALARM' : 'OK');
  const count = (values: readonly boolean[]) => values.filter(Boolean).length;

  if (real.length >= n) return verdict(count(real.slice(-n)));
  switch (rule.treatMissingData) {
    case 'breaching':
      return verdict(count(real) + (n - real.length));
    case 'notBreaching':
      return verdict(count(real));
    case 'missing':
    case 'ignore': {
      if (real.length === 0) return rule.treatMissingData === 'missing' ? 'INSUFFICIENT_DATA' : current;
      if (real.some((d) => !d)) return verdict(count(real));
      // Every real datapoint breaches: the premature-alarm rule decides.
      if (rule.treatMissingData === 'ignore') return current;
      const window = range.slice(-n);
      const oldest = window.findIndex((d) => d === true);
      return oldest >= 0 && window.length - oldest >= m ? 'ALARM' : current;
    }
  }
}
