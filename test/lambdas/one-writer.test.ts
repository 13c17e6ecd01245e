/**
 * One route writer: no interleaving leaves a table on a NAT whose terminate hook was released.
 *
 * The race: zone a's table is served from zone b after a failover, and zone a's NAT i-…1 has been
 * stable long enough to take it back (a failback). At the same moment Auto Scaling starts
 * terminating i-…1 and sends its terminate lifecycle action. The real reconcile handler runs on
 * both triggers against an in-memory AWS whose every call is a scheduling point; a seeded random
 * scheduler picks which run (or Auto Scaling's transition) moves next.
 *   two functions (as deployed before: a lifecycle function beside reconcile): the runs overlap;
 *     some interleavings release the hook while the other run, from an older snapshot, routes the
 *     table to the leaving NAT. The test finds such a schedule (so it can see the bug).
 *   one function (as deployed now: lifecycle actions go to the serialized reconcile function):
 *     runs never overlap, in either order, with the transition anywhere; no schedule does it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { mockFakeAws, plainClients } from '../support/aws-mock';
import type { FakeAws } from '../support/fake-aws';
import { buildFleet, type Fleet } from '../support/fleet';
import { lambdaContext, testRuntime } from '../support/runtime';
import scheduled from '../fixtures/events/scheduled.json';
import terminate from '../fixtures/events/terminate.json';

const NOW = new Date('2026-06-01T12:00:00Z');
const LEAVING = terminate.detail.EC2InstanceId;

interface Task {
  name: string;
  /** Starts only once these tasks have finished. */
  after: string[];
  run: () => Promise<unknown>;
}

/** A small deterministic PRNG (mulberry32), so a failing schedule can be replayed by its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every AWS call of a task waits here until the scheduler lets that task take one step. */
class Scheduler {
  private readonly current = new AsyncLocalStorage<string>();
  /** Per task, its calls waiting for a step (a run makes some calls in parallel). */
  private readonly waiting = new Map<string, (() => void)[]>();
  readonly trace: string[] = [];

  constructor(fake: FakeAws) {
    const handle = fake.handle.bind(fake);
    fake.handle = async (command: string, input: unknown) => {
      const task = this.current.getStore();
      if (task) await new Promise<void>((resolve) => this.waiting.set(task, [...(this.waiting.get(task) ?? []), resolve]));
      if (task) this.trace.push(`${task}:${command.replace(/Command$/, '')}`);
      return handle(command, input);
    };
  }

  async run(tasks: Task[], random: () => number): Promise<void> {
    const started = new Set<string>();
    const finished = new Set<string>();
    // Until every started task waits at its next AWS call or has finished.
    const settle = async () => {
      for (let i = 0; i < 5_000 && [...started].some((t) => !finished.has(t) && !this.waiting.has(t)); i++) {
        await new Promise((resolve) => setTimeout(resolve, i < 100 ? 0 : 1));
      }
    };
    for (;;) {
      await settle();
      if (finished.size === tasks.length) return;
      const startable = tasks.filter((t) => !started.has(t.name) && t.after.every((a) => finished.has(a))).map((t) => t.name);
      const choices = [...startable, ...this.waiting.keys()];
      if (choices.length === 0) throw new Error(`deadlock: ${JSON.stringify({ started: [...started], finished: [...finished], trace: this.trace })}`);
      const pick = choices[Math.floor(random() * choices.length)]!;
      const calls = this.waiting.get(pick);
      if (calls) {
        const [step, ...rest] = calls;
        if (rest.length > 0) this.waiting.set(pick, rest);
        else this.waiting.delete(pick);
        step!();
        continue;
      }
      started.add(pick);
      const task = tasks.find((t) => t.name === pick)!;
      void this.current.run(pick, () => task.run()).then(
        () => finished.add(pick),
        (error: unknown) => {
          this.trace.push(`${pick} threw: ${String(error)}`);
          finished.add(pick);
        },
      );
    }
  }
}

const restorers: (() => void)[] = [];
afterEach(() => {
  restorers.splice(0).forEach((restore) => restore());
  vi.restoreAllMocks();
});

/** Zone a's table on zone b's NAT; zone a's NAT stable, so a run fails the table back to it. */
function failbackWorld(): Fleet {
  const fleet = buildFleet({ now: NOW, groups: 1, nats: 3 });
  const [tableA] = fleet.tablesByGroup.get(fleet.groupNames[0]!)!;
  const peer = fleet.fake.nats.get(fleet.natIds[1]!)!;
  fleet.fake.tables.get(tableA!)!.defaultRoute = { NetworkInterfaceId: peer.networkInterfaceId, InstanceId: peer.instanceId, State: 'active' };
  expect(fleet.natIds[0]).toBe(LEAVING);
  return fleet;
}

/** Tables left on a NAT whose terminate hook natbeat released (CONTINUE): the bug. */
function strandedTables(fleet: Fleet): string[] {
  const released = new Set(
    fleet.fake.calls.filter((c) => c.command === 'CompleteLifecycleActionCommand' && c.input.LifecycleActionResult === 'CONTINUE').map((c) => c.input.InstanceId as string),
  );
  return [...fleet.fake.tables.keys()].filter((id) => released.has(fleet.fake.routeTargetOf(id) ?? ''));
}

type Deployment = 'two functions' | 'one function';

async function race(deployment: Deployment, seed: number) {
  const fleet = failbackWorld();
  restorers.push(mockFakeAws(fleet.fake).restore);
  const scheduler = new Scheduler(fleet.fake);
  const handler = () => createReconcileHandler(testRuntime({ clients: plainClients, now: NOW }).runtime);
  const reconcileFn = handler();
  // Before: a separate lifecycle function, its own execution environment, running concurrently.
  const lifecycleFn = deployment === 'two functions' ? handler() : reconcileFn;
  const random = prng(seed);
  // One function: its runs never overlap; which trigger is served first is up to the queue.
  const lifecycleFirst = deployment === 'one function' && random() < 0.5;
  const tasks: Task[] = [
    { name: 'reconcile', after: lifecycleFirst ? ['lifecycle'] : [], run: () => reconcileFn(scheduled, lambdaContext) },
    {
      name: 'asg',
      after: [],
      run: async () => {
        fleet.fake.nats.get(LEAVING)!.lifecycleState = 'Terminating:Wait';
      },
    },
    {
      name: 'lifecycle',
      // The terminate action is sent once the instance waits in its hook.
      after: deployment === 'one function' && !lifecycleFirst ? ['asg', 'reconcile'] : ['asg'],
      run: () => lifecycleFn(terminate, lambdaContext),
    },
  ];
  await scheduler.run(tasks, random);
  return { stranded: strandedTables(fleet), trace: scheduler.trace, released: fleet.fake.nats.get(LEAVING)!.lifecycleState };
}

describe('One route writer (real reconcile handler, every AWS call a scheduling point)', () => {
  const SEEDS = Array.from({ length: 60 }, (_, i) => i + 1);

  it('two concurrent writers (the old deployment): some interleaving leaves a table on the released NAT', async () => {
    const bad: number[] = [];
    for (const seed of SEEDS) if ((await race('two functions', seed)).stranded.length > 0) bad.push(seed);
    process.stderr.write(`two functions: ${bad.length} of ${SEEDS.length} schedules strand a table on the released NAT\n`);
    expect(bad.length).toBeGreaterThan(0);
  }, 120_000);

  it('one serialized writer (lifecycle actions go to reconcile): no interleaving does, and the hook is still released', async () => {
    for (const seed of SEEDS) {
      const outcome = await race('one function', seed);
      expect({ seed, stranded: outcome.stranded }).toEqual({ seed, stranded: [] });
      // The leaving NAT is let go in every schedule (by the run that saw it waiting) …
      expect(outcome.released).toBe('Terminating:Proceed');
      // … and never while the other run was between its look and its writes.
      const reconcileSteps = outcome.trace.filter((s) => s.startsWith('reconcile:'));
      const lifecycleSteps = outcome.trace.filter((s) => s.startsWith('lifecycle:'));
      const first = outcome.trace.indexOf((outcome.trace[0]!.startsWith('reconcile') ? reconcileSteps : lifecycleSteps).at(-1)!);
      const second = outcome.trace.indexOf((outcome.trace[0]!.startsWith('reconcile') ? lifecycleSteps : reconcileSteps)[0]!);
      expect(first).toBeLessThan(second);
    }
  }, 120_000);
});
