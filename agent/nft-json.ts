/**
 * Reads `nft -j list ruleset` and answers: is every given IPv4 range masqueraded (or SNATed) out of
 * the egress interface? Pure. A rule with a match it does not understand is not counted: the probe
 * would rather report a missing rule than vouch for one it cannot read.
 */
import { cidrRange, formatCidr, parseCidr, parseIpv4, rangeCovers, type Ipv4Cidr } from './cidr';

export interface SourceNatRule {
  table: string;
  chain: string;
  /** Output interface names the rule is limited to; undefined = any interface. */
  outputInterfaces: string[] | undefined;
  /** Source address ranges the rule is limited to; undefined = any source. */
  sourceRanges: [number, number][] | undefined;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Address, prefix, range or set of them → address ranges; undefined if unreadable. */
function addressRanges(right: unknown): [number, number][] | undefined {
  if (typeof right === 'string') {
    const cidr = parseCidr(right);
    return cidr ? [cidrRange(cidr)] : undefined;
  }
  if (!isObject(right)) return undefined;
  if (isObject(right.prefix)) {
    const { addr, len } = right.prefix;
    const cidr = typeof addr === 'string' && typeof len === 'number' ? parseCidr(`${addr}/${len}`) : undefined;
    return cidr ? [cidrRange(cidr)] : undefined;
  }
  if (Array.isArray(right.range) && right.range.length === 2) {
    const [first, last] = right.range.map((item) => (typeof item === 'string' ? parseIpv4(item) : undefined));
    return first !== undefined && last !== undefined ? [[first, last]] : undefined;
  }
  if (Array.isArray(right.set)) {
    const ranges: [number, number][] = [];
    for (const element of right.set) {
      const elementRanges = addressRanges(element);
      if (!elementRanges) return undefined;
      ranges.push(...elementRanges);
    }
    return ranges;
  }
  return undefined;
}

function interfaceNames(right: unknown): string[] | undefined {
  if (typeof right === 'string') return [right];
  if (isObject(right) && Array.isArray(right.set) && right.set.every((item) => typeof item === 'string')) {
    return right.set as string[];
  }
  return undefined;
}

/** One rule's expressions → a source-NAT rule, or undefined if it is not one we can read. */
function readRule(expressions: unknown[]): Omit<SourceNatRule, 'table' | 'chain'> | undefined {
  let outputInterfaces: string[] | undefined;
  let sourceRanges: [number, number][] | undefined;
  let translates = false;
  for (const expression of expressions) {
    if (!isObject(expression)) return undefined;
    if ('counter' in expression || 'log' in expression || 'comment' in expression) continue;
    if ('masquerade' in expression || 'snat' in expression) {
      translates = true;
      continue;
    }
    // iptables-nft writes `-j MASQUERADE` as an xtables target.
    if (isObject(expression.xt) && expression.xt.type === 'target' && (expression.xt.name === 'MASQUERADE' || expression.xt.name === 'SNAT')) {
      translates = true;
      continue;
    }
    const match = expression.match;
    if (!isObject(match) || (match.op !== '==' && match.op !== 'in') || !isObject(match.left)) return undefined;
    const left = match.left;
    if (isObject(left.meta) && left.meta.key === 'oifname') {
      outputInterfaces = interfaceNames(match.right);
      if (!outputInterfaces) return undefined;
    } else if (isObject(left.payload) && left.payload.protocol === 'ip' && left.payload.field === 'saddr') {
      sourceRanges = addressRanges(match.right);
      if (!sourceRanges) return undefined;
    } else {
      return undefined;
    }
  }
  return translates ? { outputInterfaces, sourceRanges } : undefined;
}

/** Source-NAT rules in nat chains hooked at postrouting (families ip and inet). */
export function sourceNatRules(ruleset: unknown): SourceNatRule[] {
  const items = isObject(ruleset) && Array.isArray(ruleset.nftables) ? ruleset.nftables : [];
  const natChains = new Set<string>();
  const key = (family: unknown, table: unknown, chain: unknown) => `${String(family)} ${String(table)} ${String(chain)}`;
  for (const item of items) {
    if (!isObject(item) || !isObject(item.chain)) continue;
    const chain = item.chain;
    if (chain.type === 'nat' && chain.hook === 'postrouting' && (chain.family === 'ip' || chain.family === 'inet')) {
      natChains.add(key(chain.family, chain.table, chain.name));
    }
  }
  const rules: SourceNatRule[] = [];
  for (const item of items) {
    if (!isObject(item) || !isObject(item.rule)) continue;
    const rule = item.rule;
    if (!natChains.has(key(rule.family, rule.table, rule.chain)) || !Array.isArray(rule.expr)) continue;
    const read = readRule(rule.expr);
    if (read) rules.push({ table: `${String(rule.family)} ${String(rule.table)}`, chain: String(rule.chain), ...read });
  }
  return rules;
}

/** The ranges no rule masquerades out of `egressInterface`; empty = all covered. */
export function uncoveredRanges(rules: readonly SourceNatRule[], ranges: readonly Ipv4Cidr[], egressInterface: string): Ipv4Cidr[] {
  return ranges.filter(
    (range) =>
      !rules.some(
        (rule) =>
          (rule.outputInterfaces === undefined || rule.outputInterfaces.includes(egressInterface)) &&
          (rule.sourceRanges === undefined || rule.sourceRanges.some((source) => rangeCovers(source, range))),
      ),
  );
}

export function describeRanges(ranges: readonly Ipv4Cidr[]): string {
  return ranges.map(formatCidr).join(', ');
}
