/**
 * A plain text table: left-aligned columns separated by two spaces, widths from the visible text
 * (ANSI colour codes do not count), no borders so it copies cleanly into a ticket.
 */
import { stripVTControlCharacters } from 'node:util';

export interface Column {
  header: string;
  /** Right-align (numbers). */
  right?: boolean;
}

export function renderTable(columns: Column[], rows: string[][], options: { indent?: string; header?: (text: string) => string } = {}): string {
  const indent = options.indent ?? '';
  const width = (s: string) => stripVTControlCharacters(s).length;
  const widths = columns.map((c, i) => Math.max(width(c.header), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    indent +
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i]! - width(cell)));
        if (i === cells.length - 1 && !columns[i]?.right) return cell; // no trailing spaces
        return columns[i]?.right ? pad + cell : cell + pad;
      })
      .join('  ');
  const header = line(columns.map((c) => c.header));
  return [options.header ? options.header(header) : header, ...rows.map((r) => line(columns.map((_, i) => r[i] ?? '')))].join('\n');
}
