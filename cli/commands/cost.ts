/** `natbeat cost`: the shared monthly cost model, natbeat vs a NAT Gateway per AZ. No AWS calls. */
import { monthlyCost, type CostInputs } from '../../common/cost-model';
import { ExitCode } from '../errors';
import type { CliIo } from '../io';
import { renderCost } from '../render/cost-text';
import { colorWanted, createStyle } from '../render/style';

export interface CostOptions {
  inputs: CostInputs;
  json: boolean;
}

export function costCommand(options: CostOptions, io: Pick<CliIo, 'stdout' | 'env'>): number {
  const report = monthlyCost(options.inputs);
  if (options.json) {
    io.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    io.stdout.write(renderCost(report, createStyle(colorWanted({ isTTY: io.stdout.isTTY, env: io.env }))));
  }
  return ExitCode.ok;
}
