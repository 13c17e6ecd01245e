/** `natbeat status`: per group and AZ, each NAT and private route table, and what would page. */
import { ExitCode } from '../errors';
import { buildFleetView } from '../fleet-view';
import type { CliIo } from '../io';
import { renderStatus } from '../render/status-text';
import { colorWanted, createStyle } from '../render/style';
import { runInspection, type InspectOptions } from './inspect-command';

export interface StatusOptions extends InspectOptions {
  json: boolean;
  color?: boolean;
}

/** Exit code 1 when the controller would alert, so scripts and cron jobs can page on it. */
export async function statusCommand(options: StatusOptions, io: CliIo): Promise<number> {
  const { inspection } = await runInspection(options, io);
  const view = buildFleetView(inspection, { groups: options.groups });
  if (options.json) {
    io.stdout.write(JSON.stringify(view, null, 2) + '\n');
  } else {
    const style = createStyle(colorWanted({ isTTY: io.stdout.isTTY, env: io.env, flag: options.color }));
    io.stdout.write(renderStatus(view, style));
  }
  return view.alerts.length > 0 ? ExitCode.alertOrError : ExitCode.ok;
}
