/**
 * Runs the CLI against a local moto server through a few scenarios and prints what an operator
 * sees: the source of the sample output in docs/operations.md. Needs moto (pip install "moto[server]").
 *
 *   npx tsx cli/demo-against-moto.ts
 */
import { AllocateAddressCommand, AssociateAddressCommand } from '@aws-sdk/client-ec2';
import { motoClients, startMoto } from '../test/support/moto';
import { createFleet, publishHeartbeats, routeTo } from '../test/cli/moto-world';
import type { CliIo } from './io';
import { run } from './run';

const moto = await startMoto();
try {
  const clients = motoClients(moto.endpoint);
  const io = (env: Record<string, string> = {}): CliIo => ({
    stdout: process.stdout,
    stderr: process.stdout,
    // moto stamps instances with launch time "now": no grace period, or every NAT is booting.
    env: { NATBEAT_GRACE_SECONDS: '0', NO_COLOR: '1', ...env },
    now: () => new Date(),
    clients: () => clients,
  });
  const show = async (title: string, argv: string[], env?: Record<string, string>) => {
    process.stdout.write(`\n### ${title}\n$ natbeat ${argv.join(' ')}\n`);
    const code = await run(argv, io(env));
    process.stdout.write(`(exit ${code})\n`);
  };

  const fleet = await createFleet(clients);
  const [a, b] = fleet.nats as [(typeof fleet.nats)[0], (typeof fleet.nats)[0]];
  for (const nat of fleet.nats) {
    const { AllocationId } = await clients.ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await clients.ec2.send(new AssociateAddressCommand({ AllocationId, InstanceId: nat.instanceId }));
  }

  let now = new Date();
  await publishHeartbeats(clients, a, now, 3);
  await publishHeartbeats(clients, b, now, 6);
  await show('A healthy fleet', ['status']);

  // NAT a stops beating: 45 s of silence, its table still points at it.
  now = new Date();
  await moto.reset();
  const fleet2 = await createFleet(clients);
  const [a2, b2] = fleet2.nats as [(typeof fleet.nats)[0], (typeof fleet.nats)[0]];
  await publishHeartbeats(clients, a2, now, 45, 3);
  await publishHeartbeats(clients, b2, now, 4);
  await show('NAT in us-east-1a went silent: what would the controller do?', ['plan']);
  await show('The same, as JSON for scripts', ['plan', '--json']);

  // After the controller's run: the table is served cross-AZ while the NAT is replaced.
  await routeTo(clients, fleet2.routeTables[0]!.routeTableId, b2.networkInterfaceId);
  await show('Failed over: us-east-1a served from us-east-1b', ['status']);

  await show('No group carries the managed tag', ['status'], { NATBEAT_GROUP_TAG_KEY: 'natbeat:elsewhere' });
  await show('A flag that does not exist', ['status', '--verbose']);
  await show('Cost model, 3 AZs', ['cost', '--azs', '3']);
} finally {
  await moto.stop();
}
