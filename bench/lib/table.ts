/** A table printed as Markdown with padded columns: readable on a terminal and in RESULTS.md. */
export interface Table {
  headers: string[];
  rows: string[][];
  /** Per column; numbers read best right-aligned. Default: left for the first column, right for the rest. */
  align?: ('left' | 'right')[];
}

export function renderTable(table: Table): string {
  const widths = table.headers.map((h, c) => Math.max(h.length, ...table.rows.map((row) => (row[c] ?? '').length)));
  const alignOf = (c: number) => table.align?.[c] ?? (c === 0 ? 'left' : 'right');
  const cell = (text: string, c: number) => (alignOf(c) === 'right' ? text.padStart(widths[c]!) : text.padEnd(widths[c]!));
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (alignOf(c) === 'right' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(table.headers), rule, ...table.rows.map((row) => line(table.headers.map((_, c) => row[c] ?? '')))].join('\n');
}

/** 12,345 — rates and counts, whole numbers with thousands separators. */
export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** 0.62 — a ratio to two decimals. */
export const ratio = (n: number): string => n.toFixed(2);

/** 1.5 — a duration or small measure to one decimal. */
export const oneDecimal = (n: number): string => n.toFixed(1);
