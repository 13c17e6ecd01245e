/**
 * natbeat-agent: proves this NAT instance routes, then heartbeats.
 *   setup   configure NAT (idempotent)   check   probe once   run   probe + heartbeat to the intake forever
 * Exit codes: 0 ok/healthy, 1 unhealthy or runtime failure, 2 bad flags.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { formatCidr, type Ipv4Cidr } from './cidr';
import { describeConfig, parseCli, usage, type AgentConfig } from './config';
import { ConfigError, errorMessage } from './errors';
import { ensureHandover, removeHandover } from './handover';
import { HANDOVER_TAG_PATH, HandoverWatcher, watchHandover } from './handover-watch';
import { ImdsClient, primaryPrivateAddress, resolveIdentity, subnetCidrFromMetadata, vpcCidrsFromMetadata } from './identity';
import { jsonLogger, type Logger } from './log';
import { startPeerWitness, type RunningPeerWitness } from './peers/witness';
import { formatReport, runProbes } from './probe-runner';
import { probeSourceFor } from './probe-source';
import { NamespaceConnector } from './probes/connect-helper';
import { egressProbe } from './probes/egress';
import { egressInterface } from './probes/egress-interface';
import { forwardPathProbe, cachedIpv4Resolver } from './probes/forward-path';
import { forwardingProbe } from './probes/forwarding';
import { natRuleProbe } from './probes/nat-rule';
import type { Probe } from './probes/types';
import { BeatSchedule } from './beat-schedule';
import { systemClock } from './clock';
import { heartbeatLoop } from './heartbeat-loop';
import { IntakeClient, regionOfUrl, SignedUrlSender } from './intake-client';
import { ensureProbeNamespace, resolveEgressInterface, setupNat } from './setup';
import { realSystem, type System } from './system';

function imdsFor(config: AgentConfig): ImdsClient {
  return new ImdsClient({ baseUrl: config.imdsEndpoint, timeoutMs: config.imdsTimeoutSeconds * 1000 });
}

async function vpcCidrs(config: AgentConfig) {
  return config.vpcCidrs.length > 0 ? config.vpcCidrs : vpcCidrsFromMetadata(imdsFor(config));
}

/** The forward-path probe's source: the reserved network+3 of this NAT's subnet (flag, else instance metadata). */
async function probeSource(config: AgentConfig, cidrs: Ipv4Cidr[]): Promise<string> {
  return probeSourceFor(config.subnetCidr ?? (await subnetCidrFromMetadata(imdsFor(config))), cidrs, config.probeCidr);
}

async function setupCommand(config: AgentConfig, system: System, log: Logger): Promise<number> {
  const egress = await resolveEgressInterface(system, config.egressInterface);
  const cidrs = await vpcCidrs(config);
  const source = await probeSource(config, cidrs);
  const { changes } = await setupNat(system, {
    egressInterface: egress,
    vpcCidrs: cidrs,
    probeNamespace: config.probeNamespace,
    probeCidr: config.probeCidr,
    probeSource: source,
    tunnel: config.handover,
  });
  log('info', changes.length > 0 ? `setup changed ${changes.length} thing(s)` : 'setup: already configured, nothing changed', {
    egressInterface: egress,
    vpcCidrs: cidrs.map(formatCidr),
    probeSource: source,
    changes,
  });
  return 0;
}

async function handoverCommand(config: AgentConfig, system: System, log: Logger): Promise<number> {
  const egress = await resolveEgressInterface(system, config.egressInterface);
  if (config.handoverStop) {
    const changes = await removeHandover(system);
    log('info', changes.length > 0 ? 'handover stopped' : 'handover: not handing over, nothing changed', { changes });
    return 0;
  }
  const oldAddress = config.handoverFrom as string;
  const { changes, sameSubnet } = await ensureHandover(system, { vpcInterface: egress, vpcCidrs: await vpcCidrs(config), oldAddress });
  log('info', changes.length > 0 ? `handing mid-stream flows over to ${oldAddress}` : 'handover: already set up, nothing changed', {
    oldAddress,
    path: sameSubnet ? `directly on ${egress}` : 'through the VXLAN tunnel',
    changes,
  });
  return 0;
}

interface ProbeSet {
  probes: Probe[];
  close(): void;
}

async function buildProbes(config: AgentConfig, system: System): Promise<ProbeSet> {
  const cidrs = await vpcCidrs(config);
  const egress = egressInterface(system, config.egressInterface);
  const connector = NamespaceConnector.forNamespace(config.probeNamespace);
  return {
    probes: [
      forwardingProbe(system),
      natRuleProbe(system, egress, cidrs),
      egressProbe(system, egress),
      forwardPathProbe(connector, config.probeTargets, cachedIpv4Resolver()),
    ],
    close: () => connector.close(),
  };
}

async function checkCommand(config: AgentConfig, system: System): Promise<number> {
  const { probes, close } = await buildProbes(config, system);
  try {
    const report = await runProbes(probes, config.probeTimeoutSeconds * 1000);
    process.stdout.write(`${config.json ? JSON.stringify(report) : formatReport(report)}\n`);
    return report.healthy ? 0 : 1;
  } finally {
    close();
  }
}

async function runCommand(config: AgentConfig, system: System, log: Logger, env: NodeJS.ProcessEnv): Promise<number> {
  const identity = await resolveIdentity(
    {
      instanceId: config.instanceId,
      availabilityZone: config.availabilityZone,
      region: config.region ?? (env.AWS_REGION || undefined),
      groupName: config.groupName,
    },
    imdsFor(config),
  );
  // Re-checked here so the probe does not depend on the namespace `setup` left behind still existing.
  const repaired: string[] = [];
  await ensureProbeNamespace(system, { ...config, probeSource: await probeSource(config, await vpcCidrs(config)) }, repaired);
  if (repaired.length > 0) log('warn', 'probe namespace was missing or incomplete; repaired', { changes: repaired });
  const { probes, close } = await buildProbes(config, system);
  const stop = new AbortController();
  const onSignal = (name: string) => {
    log('info', `${name} received, stopping`);
    stop.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  log('info', 'natbeat agent running', { identity, config: describeConfig(config) });
  const intervalMs = config.intervalSeconds * 1000;
  // parseCli requires it for run.
  const reportUrl = config.reportUrl as string;
  // Signed with the instance role's credentials (the standard chain: instance metadata on EC2), so
  // the intake knows the caller. AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL move the request
  // elsewhere, as they do every SDK call (tests, emulators).
  const client = new IntakeClient(
    new SignedUrlSender(env.AWS_ENDPOINT_URL_LAMBDA || env.AWS_ENDPOINT_URL || reportUrl, {
      region: regionOfUrl(reportUrl) ?? identity.region,
      credentials: defaultProvider(),
      sha256: Hash.bind(null, 'sha256'),
    }),
  );
  const witness = await startWitness(config, log);
  let handover: Promise<void> = Promise.resolve();
  if (config.handover) {
    const imds = imdsFor(config);
    const plan = { vpcInterface: await resolveEgressInterface(system, config.egressInterface), vpcCidrs: await vpcCidrs(config) };
    const watcher = new HandoverWatcher({
      readTag: () => imds.get(HANDOVER_TAG_PATH),
      ensure: async (oldAddress) => (await ensureHandover(system, { ...plan, oldAddress })).changes,
      remove: () => removeHandover(system),
      now: () => Date.now(),
      log,
    });
    handover = watchHandover(watcher, systemClock.sleep, stop.signal);
  }
  try {
    await heartbeatLoop({
      probe: () => runProbes(probes, config.probeTimeoutSeconds * 1000),
      client,
      schedule: new BeatSchedule(config.heartbeatPeriodSeconds * 1000, intervalMs / 2),
      intervalMs,
      clock: systemClock,
      log,
      signal: stop.signal,
      ...(witness ? { witness: witness.source } : {}),
    });
  } finally {
    stop.abort();
    await handover;
    await witness?.stop();
    close();
  }
  return 0;
}

/**
 * The peer witness (responder + prober), unless turned off. Its peers come from the intake's
 * answers; until the first one it only answers.
 */
async function startWitness(config: AgentConfig, log: Logger): Promise<RunningPeerWitness | undefined> {
  if (!config.peerProbe) {
    log('info', '--no-peer-probe: not answering or probing peers');
    return undefined;
  }
  let address = config.peerAddress;
  try {
    address ??= await primaryPrivateAddress(imdsFor(config));
  } catch (error) {
    // A witness is a hint: without it the heartbeat still goes out, so this is no reason to stop.
    log('error', `peer witness off: ${errorMessage(error)}`);
    return undefined;
  }
  return startPeerWitness({
    address,
    port: config.peerPort,
    intervalMs: config.peerProbeIntervalSeconds * 1000,
    missesToUnreachable: config.peerMisses,
    log,
  });
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, system: System = realSystem): Promise<number> {
  const log = jsonLogger(env.NATBEAT_DEBUG === '1' ? 'debug' : 'info');
  let config: AgentConfig;
  try {
    const request = parseCli(argv, env);
    if (request.kind === 'help') {
      process.stdout.write(`${usage()}\n`);
      return 0;
    }
    config = request.config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`natbeat-agent: ${error.message}\nRun with --help for the flags.\n`);
    return 2;
  }
  try {
    switch (config.command) {
      case 'setup':
        return await setupCommand(config, system, log);
      case 'check':
        return await checkCommand(config, system);
      case 'run':
        return await runCommand(config, system, log, env);
      case 'handover':
        return await handoverCommand(config, system, log);
    }
  } catch (error) {
    log('error', `${config.command} failed: ${errorMessage(error)}`, { error: (error as Error)?.name });
    return 1;
  }
}

// Only when run as the program, not when imported by tests.
if (process.argv[1] && /natbeat-agent(\.mjs)?$|agent[\\/]main\.ts$/.test(process.argv[1])) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`natbeat-agent: ${errorMessage(error)}\n`);
      process.exit(1);
    },
  );
}
