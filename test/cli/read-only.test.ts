import { CreateRouteCommand, DescribeRouteTablesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ReadOnlyViolationError, readOnlyClients } from '../../cli/aws';
import { failedOperation } from '../../cli/errors';
import { createAwsClients } from '../../lambdas/core/clients';

const ec2 = mockClient(EC2Client);
afterEach(() => ec2.reset());

describe('Function: readOnlyClients', () => {
  it('refuses a mutating call before it is sent', async () => {
    const clients = readOnlyClients(createAwsClients({ region: 'us-east-1' }));
    await expect(
      clients.ec2.send(new CreateRouteCommand({ RouteTableId: 'rtb-1', DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: 'eni-1' })),
    ).rejects.toThrow(ReadOnlyViolationError);
    expect(ec2).not.toHaveReceivedCommand(CreateRouteCommand);
  });

  it('passes reads through and tags a failed one with its IAM action', async () => {
    ec2.on(DescribeRouteTablesCommand).resolvesOnce({ RouteTables: [{ RouteTableId: 'rtb-1' }] }).rejects(Object.assign(new Error('denied'), { name: 'UnauthorizedOperation' }));
    const recorder = { failures: [] as { operation: string; error: unknown }[] };
    const clients = readOnlyClients(createAwsClients({ region: 'us-east-1' }), recorder);
    await expect(clients.ec2.send(new DescribeRouteTablesCommand({}))).resolves.toMatchObject({ RouteTables: [{ RouteTableId: 'rtb-1' }] });
    const error = await clients.ec2.send(new DescribeRouteTablesCommand({})).catch((e: unknown) => e);
    expect(failedOperation(error)).toBe('ec2:DescribeRouteTables');
    expect(recorder.failures.map((f) => f.operation)).toEqual(['ec2:DescribeRouteTables']);
  });
});
