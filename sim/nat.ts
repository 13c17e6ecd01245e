/**
 * A NAT instance's life on the virtual clock: it boots, then does what its control scheme's
 * boot does, and (natbeat) runs the real agent loop as agent/main.ts wires it: heartbeatLoop with
 * the agent's BeatSchedule and IntakeClient over the real SignedUrlSender, POSTing every body to
 * the real intake behind a simulated Function URL (sim/intake.ts), answered by the world; the
 * intake's answer hands the peer prober its peers. The simulated parts are the probe (it passes
 * when the world says this NAT forwards) and the peer probes' network (sim/peers/).
 */
import { CreateRouteCommand, DescribeRouteTablesCommand, ModifyInstanceAttributeCommand, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { BeatSchedule } from '../agent/beat-schedule';
import { heartbeatLoop } from '../agent/heartbeat-loop';
import { IntakeClient } from '../agent/intake-client';
import type { Logger as AgentLogger } from '../agent/log';
import type { SimIntake } from './intake';
import { ec2Client, type WorldApi } from './sdk-bridge';
import type { PeerNetwork } from './peers/network';
import { SimPeerProber, type WitnessBehaviour } from './peers/prober';
import type { Ec2World, SimInstance } from './world/ec2';
import { natPrincipal } from './world/iam';

export type ControlMode = 'natbeat' | 'ec2StatusChecksOnly' | 'takeoverAtBoot';

export interface NatEnvironment {
  world: WorldApi;
  ec2: Ec2World;
  mode: ControlMode;
  groupName: string;
  /** The intake the agent reports to (--report-url); none: no reports. */
  intake?: SimIntake;
  /** The zone's private route table (the seed's boot script knows it from its user data). */
  privateSubnetOf: (zone: string) => string;
  /** fck-nat: the zone's static ENI that routes point at. */
  staticEniOf: (zone: string) => string | undefined;
  /** natbeat: the peer probe's network. */
  peerNetwork?: PeerNetwork;
  instanceOf?: (instanceId: string) => SimInstance | undefined;
}

/** agent/systemd/natbeat-agent.service: Restart=always, RestartSec=2. */
const AGENT_RESTART_SECONDS = 2;

/** Probe duration when the forward path works (a local connection). GUESS. */
const HEALTHY_PROBE_MS = 20;

export class NatHost {
  private agent?: AbortController;
  private firstBeatSeen = false;
  /** Times the agent process died (an uncaught error in its run loop). */
  agentCrashes = 0;
  /** The agent's peer prober (natbeat): what this NAT witnesses about its peers. */
  witness?: SimPeerProber;
  /** What a compromised agent does as a witness (kept across agent restarts). */
  witnessBehaviour: WitnessBehaviour = 'honest';
  private bootTimer?: { cancel(): void };

  constructor(
    private readonly env: NatEnvironment,
    readonly instance: SimInstance,
  ) {}

  /** The agent process runs (and with it the peer responder). */
  get agentRunning(): boolean {
    return this.agent !== undefined && !this.agent.signal.aborted;
  }

  private get ctx() {
    return this.env.world.ctx;
  }

  /** A freshly launched instance: running after the pending time, a NAT after the boot time. */
  launch(): void {
    const { clock, params } = this.ctx;
    clock.after(params.instancePendingSeconds * 1000, () => {
      if (this.instance.state === 'pending') this.instance.state = 'running';
    });
    this.bootTimer = clock.after(params.bootSeconds * 1000, () => void this.boot());
  }

  /** An instance that has been running for a while (the world's starting state). */
  alreadyRunning(agentStartDelayMs: number): void {
    this.instance.state = 'running';
    this.instance.configured = true;
    this.firstBeatSeen = true;
    if (this.env.mode === 'natbeat') this.ctx.clock.after(agentStartDelayMs, () => this.startAgent());
  }

  /** The instance restarts after an outage: it boots again from scratch. */
  reboot(): void {
    this.instance.configured = false;
    this.bootTimer?.cancel();
    this.bootTimer = this.ctx.clock.after(this.ctx.params.bootSeconds * 1000, () => void this.boot());
  }

  private alive(): boolean {
    const i = this.instance;
    return i.state === 'running' && !i.hung && i.impairedSince === undefined && !this.ctx.zonesDown.has(i.availabilityZone);
  }

  private async boot(): Promise<void> {
    if (!this.alive()) return;
    switch (this.env.mode) {
      case 'natbeat':
        this.instance.configured = true;
        this.startAgent();
        return;
      case 'takeoverAtBoot':
        this.instance.configured = true;
        await this.takeOverRoutes();
        return;
      case 'ec2StatusChecksOnly':
        this.attachStaticEni();
        return;
    }
  }

  /** The seed's boot script: source/dest check off, then point the zone's route table at itself. */
  private async takeOverRoutes(): Promise<void> {
    const ec2 = ec2Client(this.env.world, natPrincipal(this.instance.instanceId));
    const zone = this.instance.availabilityZone;
    try {
      await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: this.instance.instanceId, SourceDestCheck: { Value: false } }));
      const { RouteTables = [] } = await ec2.send(
        new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.subnet-id', Values: [this.env.privateSubnetOf(zone)] }] }),
      );
      for (const table of RouteTables) {
        const input = { RouteTableId: table.RouteTableId!, DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: this.instance.primaryEniId };
        const exists = table.Routes?.some((r) => r.DestinationCidrBlock === '0.0.0.0/0');
        await ec2.send(exists ? new ReplaceRouteCommand(input) : new CreateRouteCommand(input));
      }
      this.ctx.timeline.record('nat', `${this.instance.instanceId} boot script took over the zone's routes`, zone);
    } catch (error) {
      this.ctx.timeline.record('nat', `${this.instance.instanceId} boot script failed: ${String(error)}`, zone);
    }
  }

  /** fck-nat: attach the zone's static ENI (retrying while the old instance still holds it), then NAT on it. */
  private attachStaticEni(): void {
    const eniId = this.env.staticEniOf(this.instance.availabilityZone);
    if (!eniId || !this.alive()) return;
    if (this.env.ec2.attachEni(eniId, this.instance.instanceId)) {
      this.instance.configured = true;
      this.ctx.timeline.record('nat', `${this.instance.instanceId} attached the static ENI ${eniId}`, this.instance.availabilityZone);
      return;
    }
    this.ctx.clock.after(this.ctx.params.staticEniRetrySeconds * 1000, () => this.attachStaticEni());
  }

  /** The agent's peer prober runs with the agent process and dies with it. */
  private startWitness(signal: AbortSignal): void {
    const { peerNetwork, instanceOf } = this.env;
    if (!peerNetwork || !instanceOf) return;
    // Its peers come from the intake's answers, as the agent's do.
    const prober = new SimPeerProber(this.ctx, this.instance, peerNetwork, instanceOf);
    prober.behaviour = this.witnessBehaviour;
    this.witness = prober;
    prober.start();
    signal.addEventListener('abort', () => prober.stop(), { once: true });
  }

  private startAgent(): void {
    if (this.agent && !this.agent.signal.aborted) return;
    const { clock, params, timeline } = this.ctx;
    const stop = new AbortController();
    this.agent = stop;
    const i = this.instance;
    this.startWitness(stop.signal);
    // The agent's client: the real SignedUrlSender, signing with this instance's role credentials,
    // POSTs to the intake's Function URL (the world's fetch), where the real intake handler
    // verifies the caller, writes the report log and wakes reconcile. No intake: no words at all.
    const intake = this.env.intake;
    if (!intake) return;
    const client = new IntakeClient(intake.senderFor(i.instanceId), { sleep: (ms, signal) => clock.sleep(ms, signal) });
    const intervalMs = params.probeIntervalSeconds * 1000;
    const log: AgentLogger = (_level, message) => {
      if (message.startsWith('routing unhealthy') || message.startsWith('sent failing') || message.includes('heartbeat not sent')) {
        timeline.record('heartbeat', `${i.instanceId} agent: ${message}`, i.availabilityZone);
      } else if (message.startsWith('sent healthy') && !this.firstBeatSeen) {
        this.firstBeatSeen = true;
        timeline.record('heartbeat', `${i.instanceId} agent: first healthy heartbeat (proof it routes)`, i.availabilityZone);
      } else if (message.startsWith('routing healthy') && this.firstBeatSeen) {
        timeline.record('heartbeat', `${i.instanceId} agent: ${message}`, i.availabilityZone);
      }
    };
    heartbeatLoop({
      probe: async (signal) => {
        if (!this.alive()) {
          stop.abort(); // nothing runs on a hung, impaired or terminated instance
          return { healthy: false, probes: [] };
        }
        const ok = this.env.ec2.natRoutes(i);
        // A broken forward path is only known when the probe times out.
        await clock.sleep(ok ? HEALTHY_PROBE_MS : params.probeTimeoutSeconds * 1000, signal);
        return { healthy: ok, probes: [{ name: 'forward-path', ok, detail: ok ? 'reached the target through the FORWARD path' : 'timed out', ms: ok ? HEALTHY_PROBE_MS : params.probeTimeoutSeconds * 1000 }] };
      },
      client,
      schedule: new BeatSchedule(params.heartbeatPeriodSeconds * 1000, intervalMs / 2),
      intervalMs,
      // Whole milliseconds, as Date.now() gives the real agent.
      clock: { now: () => Math.floor(clock.now()), sleep: (ms, signal) => clock.sleep(ms, signal) },
      log,
      signal: stop.signal,
      ...(this.witness ? { witness: this.witness } : {}),
    }).catch((error: unknown) => {
      // The agent process died: systemd restarts it (Restart=always, RestartSec=2).
      this.agentCrashes++;
      timeline.record('nat', `${i.instanceId} AGENT CRASHED: ${String(error).split('\n')[0]}; systemd restarts it in ${AGENT_RESTART_SECONDS} s`, i.availabilityZone);
      stop.abort();
      clock.after(AGENT_RESTART_SECONDS * 1000, () => {
        if (this.alive()) this.startAgent();
      });
    });
  }
}
