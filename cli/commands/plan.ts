/**
 * `natbeat plan`: a dry-run reconcile. It runs the controller's observe and decide and prints the
 * actions with their reasons; it never calls act, and its clients refuse any mutating call.
 */
import type { Action, NatAssessment, RouteAssessment } from '../../lambdas/core/types';
import { ExitCode } from '../errors';
import { actionResources, buildFleetView } from '../fleet-view';
import type { CliIo } from '../io';
import { renderPlan } from '../render/plan-text';
import { colorWanted, createStyle } from '../render/style';
import { runInspection, type InspectOptions } from './inspect-command';

export interface PlanOptions extends InspectOptions {
  json: boolean;
  color?: boolean;
}

export interface PlanOutput {
  observedAt: string;
  dryRun: true;
  actions: Action[];
  alerts: { kind: string; message: string; resourceIds: string[] }[];
  valveTripped: boolean;
  /** The controller's verdict on every NAT and route table in scope: the reasons behind the actions. */
  nats: NatAssessment[];
  routes: RouteAssessment[];
  notes: string[];
}

export async function planCommand(options: PlanOptions, io: CliIo): Promise<number> {
  const { inspection } = await runInspection(options, io);
  const view = buildFleetView(inspection, { groups: options.groups });
  const inScope = scopeFilter(view, options.groups);
  const output: PlanOutput = {
    observedAt: view.observedAt,
    dryRun: true,
    actions: inspection.plan.actions.filter((a) => inScope(actionResources(a))),
    alerts: view.alerts,
    valveTripped: inspection.plan.valveTripped,
    nats: inspection.plan.nats.filter((n) => inScope([n.instanceId])),
    routes: inspection.plan.routes.filter((r) => inScope([r.routeTableId])),
    notes: view.notes,
  };
  if (options.json) {
    io.stdout.write(JSON.stringify(output, null, 2) + '\n');
  } else {
    const style = createStyle(colorWanted({ isTTY: io.stdout.isTTY, env: io.env, flag: options.color }));
    io.stdout.write(renderPlan(output, style));
  }
  return ExitCode.ok;
}

/** With --group, keep actions that touch the group, its NATs or the route tables shown for it. */
function scopeFilter(view: ReturnType<typeof buildFleetView>, groups: string[]): (ids: string[]) => boolean {
  if (groups.length === 0) return () => true;
  const ids = new Set(
    view.groups.flatMap((g) => [g.name, ...g.zones.flatMap((z) => [...z.nats.map((n) => n.instanceId), ...z.routeTables.map((t) => t.routeTableId)])]),
  );
  return (resources) => resources.some((id) => ids.has(id));
}
