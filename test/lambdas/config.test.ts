import { describe, expect, it } from 'vitest';
import { CONTROLLER_NAMESPACE } from '../../common/controller-metrics';
import { DEFAULT_CONFIG, ENV, loadConfig } from '../../lambdas/core/config';
import { ConfigError } from '../../lambdas/core/errors';

describe('Function: loadConfig', () => {
  const TABLE = { [ENV.reportTable]: 'natbeat-reports-nat-a' };

  it('takes every default when nothing but the report table is set', () => {
    expect(loadConfig(TABLE)).toEqual({ ...DEFAULT_CONFIG, reportTable: 'natbeat-reports-nat-a' });
  });

  it('requires the report table, naming its variable', () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({})).toThrow(/NATBEAT_REPORT_TABLE="": must be set to the name of the deployment's report table/);
    expect(() => loadConfig({ [ENV.reportTable]: 'arn:aws:dynamodb:us-east-1:1:table/x' })).toThrow(/NATBEAT_REPORT_TABLE=.*must be a DynamoDB table name/);
  });

  it('defaults the heartbeat slack to 3 s and accepts 1 to 60 s below the silence window', () => {
    expect(DEFAULT_CONFIG.heartbeatSlackSeconds).toBe(3);
    expect(loadConfig({ ...TABLE, [ENV.heartbeatSlackSeconds]: '7' }).heartbeatSlackSeconds).toBe(7);
    expect(() => loadConfig({ ...TABLE, [ENV.heartbeatSlackSeconds]: '0' })).toThrow(/NATBEAT_HEARTBEAT_SLACK_SECONDS="0": must be a whole number from 1 to 60/);
    // Period 10 + slack 15 = the silence window 25: a beat would never be overdue before the NAT is silent.
    expect(() => loadConfig({ ...TABLE, [ENV.heartbeatPeriodSeconds]: '10', [ENV.heartbeatSlackSeconds]: '15' })).toThrow(
      /NATBEAT_HEARTBEAT_SLACK_SECONDS="15": with NATBEAT_HEARTBEAT_PERIOD_SECONDS \(10\) must stay below NATBEAT_SILENCE_SECONDS \(25\)/,
    );
    expect(loadConfig({ ...TABLE, [ENV.heartbeatPeriodSeconds]: '10', [ENV.heartbeatSlackSeconds]: '14' }).heartbeatSlackSeconds).toBe(14);
  });

  it('reads every setting from its environment variable', () => {
    const config = loadConfig({
      ...TABLE,
      [ENV.groupTagKey]: 'team:nat',
      [ENV.groupNames]: ' a , b,,c ',
      [ENV.routeTableTag]: 'tier=private-egress',
      [ENV.heartbeatPeriodSeconds]: '5',
      [ENV.silenceSeconds]: '15',
      [ENV.graceSeconds]: '0',
      [ENV.failbackHeartbeats]: '1',
      [ENV.maxUnhealthyShare]: '0.34',
      [ENV.launchProofTimeoutSeconds]: '900',
      [ENV.elasticIps]: 'nat-asg/us-east-1a=eipalloc-0a1b,b/us-east-1b=eipalloc-0c2d',
      [ENV.dryRun]: 'TRUE',
      [ENV.maxAttempts]: '3',
    });
    expect(config).toMatchObject({
      groupTagKey: 'team:nat',
      groupNames: ['a', 'b', 'c'],
      routeTableTag: { key: 'tier', value: 'private-egress' },
      heartbeatPeriodSeconds: 5,
      silenceSeconds: 15,
      graceSeconds: 0,
      failbackHeartbeats: 1,
      maxUnhealthyShare: 0.34,
      launchProofTimeoutSeconds: 900,
      elasticIps: { 'nat-asg/us-east-1a': 'eipalloc-0a1b', 'b/us-east-1b': 'eipalloc-0c2d' },
      dryRun: true,
      maxAttempts: 3,
    });
  });

  it.each([
    [ENV.silenceSeconds, 'soon', /NATBEAT_SILENCE_SECONDS="soon": must be a whole number from 5 to 3600/],
    [ENV.silenceSeconds, '4', /NATBEAT_SILENCE_SECONDS="4": must be a whole number from 5 to 3600/],
    [ENV.failbackHeartbeats, '2.5', /NATBEAT_FAILBACK_HEARTBEATS="2.5": must be a whole number from 1 to 100/],
    [ENV.maxUnhealthyShare, '1.5', /NATBEAT_MAX_UNHEALTHY_SHARE="1.5": must be a number from 0 to 1/],
    [ENV.routeTableTag, 'private', /NATBEAT_ROUTE_TABLE_TAG="private": must be key=value/],
    [ENV.dryRun, 'maybe', /NATBEAT_DRY_RUN="maybe": must be true or false/],
    [ENV.elasticIps, 'us-east-1a:eip-1', /NATBEAT_ELASTIC_IPS=.*must look like \[group\/\]us-east-1a=eipalloc-/],
    [ENV.launchProofTimeoutSeconds, '10', /NATBEAT_LAUNCH_PROOF_TIMEOUT_SECONDS="10": must be a whole number from 30 to 7200/],
  ])('rejects %s=%s naming the variable and its allowed range', (variable, value, message) => {
    expect(() => loadConfig({ ...TABLE, [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...TABLE, [variable]: value })).toThrow(message);
  });

  it('rejects a silence window no longer than the heartbeat period', () => {
    expect(() => loadConfig({ ...TABLE, [ENV.heartbeatPeriodSeconds]: '30', [ENV.silenceSeconds]: '30' })).toThrow(
      /NATBEAT_SILENCE_SECONDS="30": must be greater than NATBEAT_HEARTBEAT_PERIOD_SECONDS \(30\)/,
    );
  });

  it("rejects the controller's own namespace as the heartbeat namespace (the NATs could then fake its metrics)", () => {
    expect(() => loadConfig({ ...TABLE, [ENV.namespace]: CONTROLLER_NAMESPACE })).toThrow(
      /NATBEAT_NAMESPACE="NatBeat\/Controller": must not be the controller's own namespace/,
    );
  });

  it('reports every bad setting at once', () => {
    const error = (() => {
      try {
        loadConfig({ ...TABLE, [ENV.graceSeconds]: '-1', [ENV.maxAttempts]: '50' });
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(error?.context.problems).toHaveLength(2);
  });
});

describe('Document: docs/settings.md', () => {
  it('has a row for every controller setting with its default', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../docs/settings.md', import.meta.url), 'utf8');
    for (const variable of Object.values(ENV)) {
      expect(readme).toMatch(new RegExp(`\\| \`${variable}\` \\| `));
    }
    expect(readme).toContain(`| \`${ENV.silenceSeconds}\` | \`${DEFAULT_CONFIG.silenceSeconds}\` |`);
    expect(readme).toContain(`| \`${ENV.heartbeatPeriodSeconds}\` | \`${DEFAULT_CONFIG.heartbeatPeriodSeconds}\` |`);
  });
});
