import { describe, expect, it } from 'vitest';
import { judgeRange, type AlarmState, type TreatMissingData } from '../../sim/world/alarm-evaluation';

/**
 * The worked examples of the CloudWatch user guide, "How alarm state is evaluated when data is
 * missing" (Using Amazon CloudWatch alarms): an evaluation range of 5, 3 evaluation periods.
 * Datapoints oldest first: 0 not breaching, X breaching, - missing. `retain` = "Retain current state".
 */
type Row = [datapoints: string, missing: AlarmState, ignore: AlarmState | 'retain', breaching: AlarmState, notBreaching: AlarmState];

const THREE_OF_THREE: Row[] = [
  ['0 - X - X', 'OK', 'OK', 'OK', 'OK'],
  ['0 - - - -', 'OK', 'OK', 'OK', 'OK'],
  ['- - - - -', 'INSUFFICIENT_DATA', 'retain', 'ALARM', 'OK'],
  ['0 X X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
  ['- - X - -', 'ALARM', 'retain', 'ALARM', 'OK'],
];

const TWO_OF_THREE: Row[] = [
  ['0 - X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
  ['0 0 X 0 X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
  ['0 - X - -', 'OK', 'OK', 'ALARM', 'OK'],
  ['- - - - 0', 'OK', 'OK', 'ALARM', 'OK'],
  ['- - - X -', 'ALARM', 'retain', 'ALARM', 'OK'],
];

function range(datapoints: string): (boolean | undefined)[] {
  return datapoints.split(' ').map((d) => (d === 'X' ? true : d === '0' ? false : undefined));
}

const TREATMENTS: TreatMissingData[] = ['missing', 'ignore', 'breaching', 'notBreaching'];

describe('Function: judgeRange (the CloudWatch user guide’s worked examples)', () => {
  for (const [title, datapointsToAlarm, rows] of [
    ['3 of 3', 3, THREE_OF_THREE],
    ['2 of 3', 2, TWO_OF_THREE],
  ] as const) {
    for (const [datapoints, ...expected] of rows) {
      it(`${title}, evaluation range 5: ${datapoints}`, () => {
        for (const [k, treatMissingData] of TREATMENTS.entries()) {
          const want = expected[k]!;
          // "Retain current state": whatever the state was, it stays.
          for (const current of ['OK', 'ALARM'] as const) {
            const got = judgeRange(range(datapoints), { evaluationPeriods: 3, datapointsToAlarm, treatMissingData }, current);
            expect({ treatMissingData, current, got }).toEqual({ treatMissingData, current, got: want === 'retain' ? current : want });
          }
        }
      });
    }
  }

  it('does not alarm prematurely on one fresh breaching datapoint under missing (the guide’s "- - - - X")', () => {
    expect(judgeRange(range('- - - - X'), { evaluationPeriods: 3, treatMissingData: 'missing' }, 'OK')).toBe('OK');
    expect(judgeRange(range('- - - X -'), { evaluationPeriods: 3, treatMissingData: 'missing' }, 'OK')).toBe('OK');
  });

  it('a 1-of-1 breaching alarm on a silenced metric fires only when the whole range is empty', () => {
    const rule = { evaluationPeriods: 1, treatMissingData: 'breaching' as const };
    // The last real datapoint (healthy) is judged while it is in the range.
    expect(judgeRange(range('0 - - -'), rule, 'OK')).toBe('OK');
    expect(judgeRange(range('- - - -'), rule, 'OK')).toBe('ALARM');
    // An explicit failure is a real datapoint: judged at once.
    expect(judgeRange(range('0 0 0 X'), rule, 'OK')).toBe('ALARM');
    // …and a healthy one after it turns the alarm OK at once.
    expect(judgeRange(range('0 X X 0'), rule, 'ALARM')).toBe('OK');
  });

  it('rejects an impossible rule', () => {
    expect(() => judgeRange([], { evaluationPeriods: 2, datapointsToAlarm: 3, treatMissingData: 'breaching' }, 'OK')).toThrow(/datapointsToAlarm/);
  });
});
