/** `nat-rule`: every VPC range is masqueraded (or SNATed) out of the egress interface. */
import type { Ipv4Cidr } from '../cidr';
import { describeRanges, sourceNatRules, uncoveredRanges } from '../nft-json';
import type { System } from '../system';
import type { EgressInterface } from './egress-interface';
import type { Probe, ProbeOutcome } from './types';

export function assessNatRules(ruleset: unknown, vpcCidrs: readonly Ipv4Cidr[], egressName: string): ProbeOutcome {
  const rules = sourceNatRules(ruleset);
  const missing = uncoveredRanges(rules, vpcCidrs, egressName);
  if (missing.length > 0) {
    return { ok: false, detail: `no masquerade/SNAT rule out of ${egressName} for ${describeRanges(missing)}` };
  }
  const tables = [...new Set(rules.map((rule) => rule.table))].join(', ');
  return { ok: true, detail: `${describeRanges(vpcCidrs)} masqueraded out of ${egressName} (${tables})` };
}

export function natRuleProbe(system: Pick<System, 'exec'>, egress: EgressInterface, vpcCidrs: readonly Ipv4Cidr[]): Probe {
  return {
    name: 'nat-rule',
    async run(signal) {
      const name = await egress.name(signal);
      if (!name) return { ok: false, detail: 'egress interface unknown (no default route); cannot check the rule' };
      const { stdout } = await system.exec('nft', ['-j', 'list', 'ruleset'], { signal });
      return assessNatRules(JSON.parse(stdout), vpcCidrs, name);
    },
  };
}
