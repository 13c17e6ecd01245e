/**
 * Lifecycle actions are handled by the reconcile function (lambdas/reconcile/handler.ts): the
 * construct routes the group's lifecycle events to it, so one serialized function is the only
 * route writer. This entry point is that same handler, kept for callers that still wire a
 * lifecycle handler of their own.
 */
import { createReconcileHandler } from '../reconcile/handler';

export const createLifecycleHandler = createReconcileHandler;
