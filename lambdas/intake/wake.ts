/**
 * Wakes the reconcile function: an asynchronous invoke (InvocationType Event) with a verified
 * event. Lambda queues it; reconcile's reserved concurrency 1 runs it after any run in progress.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { VerifiedSelfReport, VerifiedWitnessReport } from '../core/events';
import type { ClientSource } from './clients';

export class ReconcileWaker {
  constructor(
    private readonly lambda: ClientSource<LambdaClient>,
    private readonly functionName: string,
  ) {}

  async wake(event: VerifiedSelfReport | VerifiedWitnessReport): Promise<void> {
    const { InvokeCommand } = await import('@aws-sdk/client-lambda');
    await (await this.lambda()).send(
      new InvokeCommand({ FunctionName: this.functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(event)) }),
    );
  }
}
