/**
 * Colour for terminals only: on when the stream is a TTY, off with NO_COLOR (any value, see
 * no-color.org) or --no-color, forced on with FORCE_COLOR / --color. The decision is made here
 * (validateStream off), so the rendering does not depend on the process the tests run in.
 */
import { styleText } from 'node:util';

export type Format = Parameters<typeof styleText>[0];

export interface Style {
  readonly enabled: boolean;
  (format: Format, text: string): string;
}

export function createStyle(enabled: boolean): Style {
  const style = ((format: Format, text: string) => (enabled && text.length > 0 ? styleText(format, text, { validateStream: false }) : text)) as Style;
  Object.defineProperty(style, 'enabled', { value: enabled });
  return style;
}

export function colorWanted(options: {
  isTTY: boolean | undefined;
  env: Record<string, string | undefined>;
  flag?: boolean;
}): boolean {
  if (options.flag !== undefined) return options.flag;
  if (options.env.NO_COLOR !== undefined && options.env.NO_COLOR !== '') return false;
  if (options.env.FORCE_COLOR !== undefined && options.env.FORCE_COLOR !== '0') return true;
  return options.isTTY === true && options.env.TERM !== 'dumb';
}
