import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, ENV, loadConfig } from '../../lambdas/core/config';
import { ConfigError } from '../../lambdas/core/errors';

describe('Function: loadConfig', () => {
  it('takes every default when nothing is set', () => {
    expect(loadConfig({})).toEqual(DEFAULT_CONFIG);
  });

  it('reads every setting from its environment variable', () => {
    const config = loadConfig({
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
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(message);
  });

  it('rejects a silence window no longer than the heartbeat period', () => {
    expect(() => loadConfig({ [ENV.heartbeatPeriodSeconds]: '30', [ENV.silenceSeconds]: '30' })).toThrow(
      /NATBEAT_SILENCE_SECONDS="30": must be greater than NATBEAT_HEARTBEAT_PERIOD_SECONDS \(30\)/,
    );
  });

  it('reports every bad setting at once', () => {
    const error = (() => {
      try {
        loadConfig({ [ENV.graceSeconds]: '-1', [ENV.maxAttempts]: '50' });
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
