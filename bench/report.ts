// What a bench section hands back, and the one table `npm run bench` prints from all of them.
import type { Teardown } from '../test/helpers/teardown.js'

/** One measured figure, beside what it is compared with and what it must reach. */
export interface Row {
  figure: string
  /** What Slipway measured, with its unit. */
  slipway: string
  /** The same thing done without Slipway (a bare server, a hand-typed command); '' when there is none. */
  reference: string
  /** What Slipway should reach; '' when the figure is informative only. */
  target: string
  /** Whether the target was met; null when there is no target. */
  met: boolean | null
}

export interface SectionContext {
  /** Clean-ups registered here run when the section ends, whether it succeeded or not. */
  scope: Teardown
  /** Says on stderr what the section is doing, so a person sees the bench is alive. */
  progress: (message: string) => void
}

/** A group of figures measured together, run by bench/run.ts. */
export interface Section {
  /** The name `--only` selects it by. */
  name: string
  /** What it measures, for `--help`. */
  summary: string
  /** A long section, run only when `--only` names it. */
  onlyWhenNamed?: boolean
  run(context: SectionContext): Promise<Row[]>
}

const COLUMNS = ['figure', 'Slipway', 'reference', 'target', 'met?'] as const

/** The rows as a plain-text table with aligned columns. */
export function formatTable (rows: Row[]): string {
  const cells = rows.map((row) => [row.figure, row.slipway, row.reference || '-', row.target || '-', row.met === null ? '-' : row.met ? 'yes' : 'no'])
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...cells.map((line) => line[i]!.length)))
  const line = (values: readonly string[]) => values.map((value, i) => value.padEnd(widths[i]!)).join(' | ').trimEnd()
  return [line(COLUMNS), widths.map((width) => '-'.repeat(width)).join('-|-'), ...cells.map(line)].join('\n') + '\n'
}

/** The p-th percentile (nearest rank) of some values. */
export function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

export const milliseconds = (value: number) => `${value.toFixed(1)} ms`
export const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`
