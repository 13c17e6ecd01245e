/** Puts a scenario's faults into the world at their times. */
import { startForging } from './compromised';
import type { Fault } from './scenario';
import type { SimWorld } from './world/world';

export function zoneName(world: SimWorld, letter: string): string {
  return world.options.zones[letter.charCodeAt(0) - 97]!;
}

/** The NAT serving a zone right now: its in-service group member. */
function natOf(world: SimWorld, zone: string) {
  const member = world.group.instances.find((i) => i.availabilityZone === zone && i.lifecycleState === 'InService');
  return member ? world.ec2.instances.get(member.instanceId) : undefined;
}

export function scheduleFault(world: SimWorld, fault: Fault, epochMs: number): void {
  const { clock, timeline, zonesDown } = world.ctx;
  const at = (seconds: number, fn: () => void) => clock.at(epochMs + seconds * 1000, fn);
  const say = (message: string, zone?: string) => timeline.record('fault', message, zone);
  switch (fault.kind) {
    case 'stop-forwarding': {
      const zone = zoneName(world, fault.zone);
      at(fault.at, () => {
        const nat = natOf(world, zone);
        if (!nat) return;
        nat.forwarding = false;
        say(`${nat.instanceId} stops forwarding (the kernel drops FORWARD traffic; EC2 sees nothing)`, zone);
        if (fault.restoreAt !== undefined) {
          at(fault.restoreAt, () => {
            nat.forwarding = true;
            say(`${nat.instanceId} forwards again`, zone);
          });
        }
      });
      return;
    }
    case 'hang': {
      const zone = zoneName(world, fault.zone);
      at(fault.at, () => {
        const nat = natOf(world, zone);
        if (!nat) return;
        nat.hung = true;
        say(`${nat.instanceId} hangs: no forwarding, no agent; EC2 status checks still pass`, zone);
      });
      return;
    }
    case 'ec2-impaired': {
      const zone = zoneName(world, fault.zone);
      at(fault.at, () => {
        const nat = natOf(world, zone);
        if (!nat) return;
        nat.impairedSince = clock.now();
        say(`${nat.instanceId} lost to an EC2-visible failure (status checks will fail)`, zone);
      });
      return;
    }
    case 'zone-outage': {
      const zone = zoneName(world, fault.zone);
      at(fault.at, () => {
        zonesDown.add(zone);
        for (const i of world.ec2.instances.values()) if (i.availabilityZone === zone && i.state !== 'terminated') i.impairedSince ??= clock.now();
        say(`${zone} outage: every instance in the zone is down, no launches there`, zone);
      });
      at(fault.until, () => {
        zonesDown.delete(zone);
        for (const i of world.ec2.instances.values()) {
          if (i.availabilityZone !== zone || i.state === 'terminated' || i.impairedSince === undefined) continue;
          i.impairedSince = undefined;
          world.nats.get(i.instanceId)?.reboot();
        }
        say(`${zone} is back: its surviving instances reboot`, zone);
      });
      return;
    }
    case 'planned-replacement': {
      const zone = zoneName(world, fault.zone);
      at(fault.at, () => {
        const nat = natOf(world, zone);
        if (!nat) return;
        if (fault.order) world.group.order = fault.order;
        say(`planned replacement of ${nat.instanceId} (${world.group.order})`, zone);
        world.autoScaling.requestReplacement(nat.instanceId);
      });
      return;
    }
    case 'broken-launches': {
      const zone = zoneName(world, fault.zone);
      world.launchFaults.push({ zone, from: epochMs + fault.at * 1000, until: epochMs + fault.until * 1000 });
      at(fault.at, () => say(`NATs launched in ${zone} until +${fault.until} s come up unable to forward (bad AMI or user data)`, zone));
      return;
    }
    case 'cloudwatch-outage':
      world.cloudWatch.outages.push({ from: epochMs + fault.at * 1000, until: epochMs + fault.until * 1000, mode: fault.mode });
      at(fault.at, () => say(`CloudWatch ingestion outage (${fault.mode === 'reject' ? 'PutMetricData fails' : 'datapoints held back'}) until +${fault.until} s`));
      at(fault.until, () => say('CloudWatch ingestion back'));
      return;
    case 'throttling-storm':
      world.throttle.storms.push({ from: epochMs + fault.at * 1000, until: epochMs + fault.until * 1000, share: fault.share, services: fault.services });
      at(fault.at, () => say(`API throttling storm: ${Math.round(fault.share * 100)} % of ${fault.services.join(', ')} calls throttled until +${fault.until} s`));
      at(fault.until, () => say('throttling storm over'));
      return;
    case 'reconcile-crash':
      world.reconcileLambda?.crashPlans.push({ from: epochMs + fault.at * 1000, afterMutatingCalls: fault.afterMutatingCalls, times: fault.times });
      at(fault.at, () => say(`the next ${fault.times} reconcile run(s) crash after ${fault.afterMutatingCalls} mutating call(s)`));
      return;
    case 'partition': {
      const zone = zoneName(world, fault.zone);
      world.peerNetwork.cuts.push({ zone, from: epochMs + fault.at * 1000, until: epochMs + fault.until * 1000 });
      at(fault.at, () => say(`partition: ${zone}'s NATs and the other zones' NATs cannot reach each other (each still routes its zone and reaches the intake) until +${fault.until} s`, zone));
      at(fault.until, () => say('partition healed', zone));
      return;
    }
    case 'compromised': {
      const zone = zoneName(world, fault.zone);
      at(fault.at, () => {
        const nat = natOf(world, zone);
        const host = nat && world.nats.get(nat.instanceId);
        if (!nat || !host) return;
        host.witnessBehaviour = fault.witness;
        if (host.witness) host.witness.behaviour = fault.witness;
        world.compromised.add(nat.instanceId);
        say(`${nat.instanceId} is compromised: forges ${fault.forge.join(', ') || 'nothing'} about its peers; as a witness it is ${fault.witness}`, zone);
        const until = fault.until === undefined ? Number.POSITIVE_INFINITY : epochMs + fault.until * 1000;
        const victims = () => [...world.ec2.instances.values()].filter((i) => i.instanceId !== nat.instanceId && world.group.instances.some((m) => m.instanceId === i.instanceId));
        startForging(world, nat, victims, fault.forge, world.group.name, until, (attempt) => world.forgeries.push(attempt));
      });
      return;
    }
    case 'flap': {
      const zone = zoneName(world, fault.zone);
      at(fault.at, () => {
        const nat = natOf(world, zone);
        if (!nat) return;
        say(`${nat.instanceId} starts flapping: ${fault.downSeconds} s broken, ${fault.upSeconds} s fine, until +${fault.until} s`, zone);
        const end = epochMs + fault.until * 1000;
        const down = () => {
          if (clock.now() >= end) return;
          nat.forwarding = false;
          clock.after(fault.downSeconds * 1000, () => {
            nat.forwarding = true;
            if (clock.now() < end) clock.after(fault.upSeconds * 1000, down);
          });
        };
        down();
        clock.at(end, () => {
          nat.forwarding = true;
          say(`${nat.instanceId} stops flapping`, zone);
        });
      });
      return;
    }
  }
}

/** When the controller could first know a fault is over (or happened), for convergence checks. */
export function faultSettlesAt(fault: Fault): number {
  switch (fault.kind) {
    case 'zone-outage':
    case 'stop-forwarding':
    case 'hang':
    case 'ec2-impaired':
    case 'planned-replacement':
    case 'reconcile-crash':
    case 'compromised':
      return fault.at;
    default:
      return fault.until;
  }
}
