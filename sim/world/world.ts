/**
 * The whole simulated account: one VPC with a public (NAT) and a private subnet per AZ, one NAT
 * Auto Scaling group across the AZs, and, depending on the control scheme, natbeat's real
 * Lambdas wired the way infra/ wires them (1-minute schedule, per-AZ high-resolution heartbeat
 * alarms whose state changes invoke reconcile, lifecycle hooks whose events invoke the
 * same reconcile Lambda) or one of the baselines (no controller at all).
 */
import { DEFAULT_CONFIG, type ControllerConfig } from '../../lambdas/core/config';
import { createRuntime } from '../../lambdas/core/runtime';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { LAUNCH_DETAIL_TYPE, TERMINATE_DETAIL_TYPE, WITNESS_REPORT_DETAIL_TYPE } from '../../lambdas/core/events';
import { HEARTBEAT_METRIC, DEFAULT_HEARTBEAT_NAMESPACE, zoneDimensions } from '../../common/heartbeat';
import { REPORT_KEY } from '../../common/report-store';
import { VirtualClock } from '../clock';
import { EgressTracker } from '../egress';
import { FlowLedger } from '../flows';
import { invocationStorage, SimLambda } from '../lambda';
import type { ForgeryAttempt } from '../compromised';
import { SimIntake } from '../intake';
import { NatHost, type ControlMode } from '../nat';
import { PeerNetwork } from '../peers/network';
import type { WorldParams } from '../params';
import { CapturingMetrics, quietLogger } from '../powertools';
import { draw, Random } from '../random';
import { controllerClients, type WorldApi } from '../sdk-bridge';
import { Timeline } from '../timeline';
import { AutoScalingWorld, type SimGroup } from './autoscaling';
import { CloudWatchWorld } from './cloudwatch';
import { DynamoWorld } from './dynamodb';
import { Iam, type Principal } from './iam';
import { IdFactory, type Input, type WorldContext } from './context';
import { Ec2World, type SimRouteTable } from './ec2';
import { awsError, type Service } from './errors';
import { EventBus, RELIABLE, type DeliveryFaults } from './eventbridge';
import { Throttle } from './throttle';

export const GROUP_NAME = 'natbeat-nat';
/** The reconcile function's fixed name (infra: `<group>-reconcile`), given to the agents. */
export const RECONCILE_FUNCTION = `${GROUP_NAME}-reconcile`;
/** The report log's table (infra: one per deployment). */
export const REPORT_TABLE = `${GROUP_NAME}-reports`;

export interface WorldOptions {
  mode: ControlMode;
  zones: string[];
  params: WorldParams;
  seed: number;
  /** Virtual epoch of the run. */
  startMs: number;
  /** The controller starts this long after the NATs (they need a heartbeat history first). */
  controllerStartsAfterMs: number;
  controller: Partial<ControllerConfig>;
  lifecycleDelivery: DeliveryFaults;
  timeline: boolean;
  /** Phases of the periodic things, ms (random when undefined). */
  schedulePhaseMs?: number;
  alarmPhaseMs?: number;
  asgPhaseMs?: number;
}

/** Mirrors infra's alarmPeriodFor: a CloudWatch alarm period is 10, 20, 30 s or a multiple of 60. */
export function alarmPeriodFor(seconds: number): number {
  for (const p of [10, 20, 30]) if (seconds <= p) return p;
  return Math.ceil(seconds / 60) * 60;
}

export class SimWorld implements WorldApi {
  readonly ctx: WorldContext;
  readonly ec2: Ec2World;
  readonly autoScaling: AutoScalingWorld;
  readonly cloudWatch: CloudWatchWorld;
  /** The report log (common/report-store.ts). */
  readonly dynamo: DynamoWorld;
  readonly iam: Iam;
  readonly events: EventBus;
  readonly throttle: Throttle;
  /** Egress as traffic sees it (routes once propagated). */
  readonly egress: EgressTracker;
  /** Egress as the routes are written (no propagation): when did the controller repair a zone? */
  readonly writtenEgress: EgressTracker;
  readonly flows: FlowLedger;
  readonly group: SimGroup;
  readonly nats = new Map<string, NatHost>();
  readonly privateTables = new Map<string, SimRouteTable>();
  readonly config: ControllerConfig;
  reconcileLambda?: SimLambda;
  lifecycleLambda?: SimLambda;
  /** The intake behind its Function URL (natbeat only). */
  readonly intake?: SimIntake;
  /** Who reaches whom on the NATs' peer port (partitions cut it). */
  readonly peerNetwork: PeerNetwork;
  readonly metrics: CapturingMetrics[] = [];
  /** Unhealthy marks made through the API, with whether the NAT was routing then and what invoked the run. */
  readonly marks: { at: number; instanceId: string; routing: boolean; lastBrokenAt?: number; source: string }[] = [];
  /**
   * Route writes that took a table off a NAT in the table's own zone that was routing, in
   * service, and not being replaced: failovers nothing called for.
   */
  readonly falseMoves: { at: number; zone: string; from: string; to: string; source: string }[] = [];
  /** Reports the intake passed on to reconcile (async Invoke accepted): about whom, and what kind. */
  readonly reports: { at: number; instanceId: string; kind: string }[] = [];
  /** Every default route written to a zone's private table, and the instance it points at. */
  readonly routeWrites: { at: number; zone: string; to?: string }[] = [];
  /** NATs an attacker controls (scenarios), and what they tried. */
  readonly compromised = new Set<string>();
  readonly forgeries: ForgeryAttempt[] = [];
  /** Paging alarms (ZoneSilent) that went to ALARM. */
  readonly pages: { at: number; alarm: string }[] = [];
  /** Last time each instance was seen not routing (for the "never mark a routing NAT" check). */
  readonly lastBrokenAt = new Map<string, number>();
  /** NATs launched in `zone` within [from, until) come up unable to forward. */
  readonly launchFaults: { zone: string; from: number; until: number }[] = [];
  private readonly privateSubnets = new Map<string, string>();
  private readonly staticEnis = new Map<string, string>();

  constructor(readonly options: WorldOptions) {
    const clock = new VirtualClock(options.startMs);
    const rng = new Random(options.seed);
    this.ctx = { clock, rng, params: options.params, timeline: new Timeline(() => clock.now(), options.timeline), zonesDown: new Set() };
    const ids = new IdFactory();
    this.ec2 = new Ec2World(this.ctx, ids);
    this.cloudWatch = new CloudWatchWorld(this.ctx);
    this.dynamo = new DynamoWorld(this.ctx);
    this.dynamo.createTable(REPORT_TABLE, REPORT_KEY.partition, REPORT_KEY.sort);
    this.iam = new Iam(
      { natMayPutMetricData: false, natMayInvokeReconcile: false, natMayWriteRoutes: options.mode === 'takeoverAtBoot' },
      () => clock.now(),
    );
    this.events = new EventBus(this.ctx);
    this.throttle = new Throttle(this.ctx);
    // The report log's table, for controllers that read it (a spread: older configs have no such field).
    const reportLog = { reportTable: REPORT_TABLE };
    this.config = { ...DEFAULT_CONFIG, ...reportLog, heartbeatPeriodSeconds: options.params.heartbeatPeriodSeconds, ...options.controller };
    const natbeat = options.mode === 'natbeat';
    this.peerNetwork = new PeerNetwork(this.ctx, (id) => this.nats.get(id)?.agentRunning ?? false);
    if (natbeat) this.intake = new SimIntake(this, { reconcileFunction: RECONCILE_FUNCTION, groupNames: [GROUP_NAME], reportTable: REPORT_TABLE, zoneCount: options.zones.length });

    const vpcId = ids.next('vpc');
    const publicSubnets: string[] = [];
    for (const zone of options.zones) {
      const pub = this.ec2.addSubnet(vpcId, zone);
      const priv = this.ec2.addSubnet(vpcId, zone);
      publicSubnets.push(pub.subnetId);
      this.privateSubnets.set(zone, priv.subnetId);
      this.privateTables.set(zone, this.ec2.addRouteTable(vpcId, [priv.subnetId], { network: 'private', Name: `private-${zone}` }));
      if (options.mode === 'ec2StatusChecksOnly') this.staticEnis.set(zone, this.ec2.addEni(pub.subnetId, false, false).networkInterfaceId);
    }
    this.ec2.onRouteWritten = (table, route) => {
      const target = this.ec2.routeTargetInstance(route);
      const zone = [...this.privateTables].find(([, t]) => t === table)?.[0];
      if (zone) this.routeWrites.push({ at: this.ctx.clock.now(), zone, to: target?.instanceId });
      this.ctx.timeline.record('route', `${table.routeTableId} 0.0.0.0/0 → ${target?.instanceId ?? route.networkInterfaceId} (${target?.availabilityZone ?? '?'})`, zone);
    };

    this.group = {
      name: GROUP_NAME,
      tags: { [this.config.groupTagKey]: 'true', Name: GROUP_NAME },
      subnetIds: publicSubnets,
      desired: options.zones.length,
      healthCheckGraceSeconds: options.params.healthCheckGraceSeconds,
      hooks: natbeat
        ? [
            { name: this.config.launchHookName, transition: 'launch', timeoutSeconds: options.params.launchHookTimeoutSeconds, defaultResult: 'ABANDON' },
            { name: this.config.terminateHookName, transition: 'terminate', timeoutSeconds: options.params.terminateHookTimeoutSeconds, defaultResult: 'CONTINUE' },
          ]
        : [],
      order: natbeat ? options.params.natbeatReplacementOrder : options.params.baselineReplacementOrder,
      instances: [],
    };
    this.autoScaling = new AutoScalingWorld(this.ctx, this.ec2, {
      launch: (subnetId) => {
        const instance = this.ec2.runInstance(subnetId, { [this.config.groupTagKey]: 'true', 'aws:autoscaling:groupName': GROUP_NAME });
        const now = this.ctx.clock.now();
        if (this.launchFaults.some((f) => f.zone === instance.availabilityZone && now >= f.from && now < f.until)) instance.forwarding = false;
        const host = this.host(instance.instanceId);
        host.launch();
        return instance;
      },
      lifecycleEvent: (detail) => {
        if (!this.lifecycleLambda) return;
        const launch = detail.LifecycleTransition === 'autoscaling:EC2_INSTANCE_LAUNCHING';
        const event = {
          version: '0',
          id: `lc-${detail.LifecycleActionToken}`,
          'detail-type': launch ? LAUNCH_DETAIL_TYPE : TERMINATE_DETAIL_TYPE,
          source: 'aws.autoscaling',
          account: '123456789012',
          time: this.ctx.clock.date().toISOString(),
          region: 'us-east-1',
          resources: [],
          detail,
        };
        const lambda = this.lifecycleLambda;
        this.events.send(event, (e) => lambda.invoke(e, `${launch ? 'launch' : 'terminate'} event ${detail.EC2InstanceId}`), options.lifecycleDelivery, `${launch ? 'launch' : 'terminate'} event of ${detail.EC2InstanceId}`);
      },
    });
    this.autoScaling.addGroup(this.group);

    // The starting fleet: one NAT per zone, in service for an hour, with the zone's routes.
    for (const [k, zone] of options.zones.entries()) {
      const instance = this.ec2.runInstance(publicSubnets[k]!, { [this.config.groupTagKey]: 'true' });
      instance.launchTime = options.startMs - 3600_000;
      this.group.instances.push({ instanceId: instance.instanceId, availabilityZone: zone, lifecycleState: 'InService', healthStatus: 'Healthy' });
      const staticEni = this.staticEnis.get(zone);
      if (staticEni) this.ec2.attachEni(staticEni, instance.instanceId);
      else this.ec2.enis.get(instance.primaryEniId)!.sourceDestCheck = false;
      this.privateTables.get(zone)!.routes.push({ destinationCidrBlock: '0.0.0.0/0', networkInterfaceId: staticEni ?? instance.primaryEniId });
      this.host(instance.instanceId).alreadyRunning(rng.uniform(0, options.params.probeIntervalSeconds * 1000));
    }

    this.egress = new EgressTracker(this.ec2, this.privateTables, (zone, up) =>
      this.ctx.timeline.record('egress', up ? 'egress restored' : 'EGRESS LOST', zone),
    );
    this.writtenEgress = new EgressTracker(this.ec2, this.privateTables, undefined, 'control-plane');
    this.flows = new FlowLedger(this.ctx, this.ec2);
    this.ec2.onRouteEffective = (table, previous, route) => {
      const zone = [...this.privateTables].find(([, t]) => t === table)?.[0];
      const move = zone ? this.flows.moved(zone, previous, route) : undefined;
      if (!move) return;
      const served = this.ec2.routeTargetInstance(route)?.availabilityZone;
      const what = move.flowsHandedOver > 0 ? `${move.flowsHandedOver} connections handed over` : `${move.flowsReset} connections reset`;
      this.ctx.timeline.record('flows', `traffic follows ${move.to ?? '?'} (${served ?? '?'}): ${what}${move.planned ? ' (planned move)' : ''}`, zone);
    };
    clock.onSettled = () => {
      const now = clock.now();
      this.egress.update(now);
      this.writtenEgress.update(now);
      for (const host of this.nats.values()) if (!this.ec2.natRoutes(host.instance)) this.lastBrokenAt.set(host.instance.instanceId, now);
    };

    const phase = (given: number | undefined, periodMs: number) => given ?? rng.uniform(0, periodMs);
    const start = options.startMs;
    clock.every(options.params.asgCycleSeconds * 1000, start + phase(options.asgPhaseMs, options.params.asgCycleSeconds * 1000), () => this.autoScaling.cycle());
    if (natbeat) this.wireController(start + options.controllerStartsAfterMs, phase);
  }

  private host(instanceId: string): NatHost {
    let host = this.nats.get(instanceId);
    if (!host) {
      host = new NatHost(
        {
          world: this,
          ec2: this.ec2,
          mode: this.options.mode,
          groupName: GROUP_NAME,
          intake: this.intake,
          ...(this.options.mode === 'natbeat' ? { peerNetwork: this.peerNetwork, instanceOf: (id: string) => this.ec2.instances.get(id) } : {}),
          privateSubnetOf: (zone) => this.privateSubnets.get(zone)!,
          staticEniOf: (zone) => this.staticEnis.get(zone),
        },
        this.ec2.instances.get(instanceId)!,
      );
      this.nats.set(instanceId, host);
    }
    return host;
  }

  private wireController(startAt: number, phase: (given: number | undefined, periodMs: number) => number): void {
    const { clock, params } = this.ctx;
    const lambda = (name: string, make: typeof createReconcileHandler, timeoutMs: number, maxEventAgeSeconds: number, reserved?: number) => {
      const metrics = new CapturingMetrics();
      this.metrics.push(metrics);
      const clients = controllerClients(this, this.config.maxAttempts);
      const runtime = createRuntime({
        config: this.config,
        clients: () => clients,
        now: () => clock.date(),
        sleep: (ms) => clock.sleep(ms),
        logger: quietLogger(),
        metrics,
      });
      return new SimLambda(this.ctx, name, make(runtime), reserved, timeoutMs, maxEventAgeSeconds);
    };
    // As infra/ deploys it: one serialized function (reserved concurrency 1), the only route
    // writer, also for lifecycle events; timeout 55 s, maximum event age 120 s, no retries of errors.
    const reconcile = lambda(RECONCILE_FUNCTION, createReconcileHandler, 55_000, 120, 1);
    this.reconcileLambda = reconcile;
    this.lifecycleLambda = reconcile;

    // Alarms as infra/ defines them, per zone on the zone aggregate: the high-resolution trigger
    // (one empty period or one explicit 0; its ALARM and OK changes invoke reconcile) and the
    // standard-resolution page (no healthy beat for two minutes; it pages, it invokes nothing).
    const triggerPeriod = alarmPeriodFor(params.heartbeatPeriodSeconds);
    const pagePeriod = Math.max(60, alarmPeriodFor(params.heartbeatPeriodSeconds));
    const pagePeriods = Math.max(2, Math.ceil(this.config.silenceSeconds / pagePeriod) + 1);
    const triggers = new Set<string>();
    for (const zone of this.options.zones) {
      const base = { namespace: DEFAULT_HEARTBEAT_NAMESPACE, metricName: HEARTBEAT_METRIC, dimensions: zoneDimensions(GROUP_NAME, zone), threshold: 1, comparison: 'LessThanThreshold' as const, treatMissingData: 'breaching' as const, zone };
      const trigger = this.cloudWatch.addAlarm({ ...base, name: `${GROUP_NAME}-ZoneHeartbeat-${zone}`, stat: 'Minimum', periodSeconds: triggerPeriod, evaluationPeriods: 1, resolution: 'high' });
      triggers.add(trigger.name);
      this.cloudWatch.addAlarm({ ...base, name: `${GROUP_NAME}-ZoneSilent-${zone}`, stat: 'Maximum', periodSeconds: pagePeriod, evaluationPeriods: pagePeriods, resolution: 'standard' });
    }
    this.cloudWatch.onAlarmStateChange = (alarm, previous) => {
      if (!triggers.has(alarm.name)) {
        // The paging alarm: an operator is told (counted), reconcile is not invoked.
        if (alarm.state === 'ALARM') this.pages.push({ at: clock.now(), alarm: alarm.name });
        return;
      }
      const event = {
        version: '0',
        id: `alarm-${clock.now()}-${alarm.name}`,
        'detail-type': 'CloudWatch Alarm State Change',
        source: 'aws.cloudwatch',
        account: '123456789012',
        time: clock.date().toISOString(),
        region: 'us-east-1',
        resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarm.name}`],
        detail: { alarmName: alarm.name, state: { value: alarm.state, reason: 'simulated' }, previousState: { value: previous } },
      };
      // Alarm state changes reach EventBridge reliably [AWS].
      this.events.send(event, (e) => reconcile.invoke(e, `alarm ${alarm.name.replace(`${GROUP_NAME}-`, '')} ${alarm.state}`), RELIABLE);
    };
    const alarmPeriod = params.alarmEvaluationSeconds * 1000;
    const alarmPhase = phase(this.options.alarmPhaseMs, alarmPeriod);
    clock.every(alarmPeriod, startAt + alarmPhase, () => this.cloudWatch.evaluateAlarms('high'));
    clock.every(60_000, startAt + alarmPhase, () => this.cloudWatch.evaluateAlarms('standard'));
    const schedulePeriod = params.schedulePeriodSeconds * 1000;
    this.events.schedule(startAt + phase(this.options.schedulePhaseMs, schedulePeriod), (e) => reconcile.invoke(e, 'schedule'));
  }

  handle(service: Service, command: string, input: Input, principal: Principal): unknown {
    this.iam.check(principal, service, command, input);
    switch (service) {
      case 'ec2':
        if (command === 'ReplaceRoute' || command === 'CreateRoute') {
          const move = this.falseMove(input);
          const output = this.ec2.handle(command, input);
          if (move) this.falseMoves.push(move);
          return output;
        }
        return this.ec2.handle(command, input);
      case 'lambda':
        return this.invokeAsync(command, input);
      case 'autoscaling':
        if (command === 'SetInstanceHealth' && input.HealthStatus === 'Unhealthy') {
          const instance = this.ec2.instances.get(String(input.InstanceId));
          this.marks.push({
            source: invocationStorage.getStore()?.source ?? 'outside a Lambda',
            at: this.ctx.clock.now(),
            instanceId: String(input.InstanceId),
            routing: instance !== undefined && this.ec2.natRoutes(instance),
            lastBrokenAt: this.lastBrokenAt.get(String(input.InstanceId)),
          });
        }
        return this.autoScaling.handle(command, input);
      case 'cloudwatch':
        return this.cloudWatch.handle(command, input);
      case 'dynamodb':
        return this.dynamo.handle(command, input);
    }
  }

  /** Records a write that would take a private table off a healthy home NAT (a false failover). */
  private falseMove(input: Input): SimWorld['falseMoves'][number] | undefined {
    const zone = [...this.privateTables].find(([, t]) => t.routeTableId === input.RouteTableId)?.[0];
    if (!zone || input.DestinationCidrBlock !== '0.0.0.0/0') return undefined;
    const table = this.privateTables.get(zone)!;
    const route = table.routes.find((r) => r.destinationCidrBlock === '0.0.0.0/0');
    const from = route && this.ec2.routeTargetInstance(route);
    if (!from || from.availabilityZone !== zone || !this.ec2.natRoutes(from)) return undefined;
    const to = String(input.NetworkInterfaceId ?? input.InstanceId ?? '');
    if (to === from.primaryEniId || to === from.instanceId) return undefined;
    const member = this.group.instances.find((i) => i.instanceId === from.instanceId);
    if (member?.lifecycleState !== 'InService' || member.healthStatus !== 'Healthy') return undefined;
    return { at: this.ctx.clock.now(), zone, from: from.instanceId, to, source: invocationStorage.getStore()?.source ?? 'outside a Lambda' };
  }

  /**
   * Lambda Invoke, asynchronous only (the intake waking reconcile): accepted at once (202), handed
   * to the function after the async invoke delay; the function's reserved concurrency makes it
   * wait behind a running invocation (its queue), like every other async source.
   */
  private invokeAsync(command: string, input: Input): unknown {
    const lambda = this.reconcileLambda;
    if (command !== 'Invoke') throw awsError('lambda', 'InvalidAction', `The action ${command} is not valid for this endpoint.`);
    if (!lambda || (input.FunctionName !== lambda.name && !String(input.FunctionName).endsWith(`:function:${lambda.name}`))) {
      throw awsError('lambda', 'ResourceNotFoundException', `Function not found: ${String(input.FunctionName)}`, 404);
    }
    if (input.InvocationType !== 'Event') throw awsError('lambda', 'InvalidParameterValueException', 'Only asynchronous (Event) invocations are modelled.');
    const raw: unknown = input.Payload;
    const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw as Uint8Array);
    if (text.length > 256 * 1024) throw awsError('lambda', 'RequestTooLargeException', 'Request must be smaller than 262144 bytes for the InvokeAsync operation', 413);
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      throw awsError('lambda', 'InvalidRequestContentException', 'Could not parse request body into json');
    }
    const e = event as { 'detail-type'?: unknown; detail?: { instanceId?: unknown; witnessId?: unknown } };
    const instanceId = String(e.detail?.instanceId ?? e.detail?.witnessId ?? '?');
    const kind = e['detail-type'] === WITNESS_REPORT_DETAIL_TYPE ? 'witness' : 'report';
    this.reports.push({ at: this.ctx.clock.now(), instanceId, kind });
    this.ctx.clock.after(draw(this.ctx.rng, this.ctx.params.lambdaAsyncInvokeDelayMs), () => lambda.invoke(event, `${kind} from ${instanceId}`));
    return { StatusCode: 202 };
  }

  /** Every private table written to a working NAT, or no NAT in the VPC works at all. */
  routesConverged(): boolean {
    const anyNatWorks = [...this.nats.values()].some((h) => this.ec2.natRoutes(h.instance));
    return !anyNatWorks || [...this.privateTables.keys()].every((zone) => this.writtenEgress.hasEgress(zone));
  }

  /** Each zone's private table as written: blackholed, or pointing at a NAT that does not route. */
  brokenTables(): string[] {
    return [...this.privateTables].filter(([zone]) => !this.writtenEgress.hasEgress(zone)).map(([zone]) => zone);
  }
}
