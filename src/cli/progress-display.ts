import { formatDuration } from '../domain/format.js'
import { terminalText } from './terminal-text.js'

/** A `log` event's data, as GET /v1/builds/{id}/logs sends it. */
export interface LogEntry {
  phase: string
  stream: string
  ts: number
  text: string
}

/** A `status` event's data. */
export interface StatusChange {
  status: string
  phase: string | null
  ts: number
}

/** Shows a followed build as its events arrive. */
export interface ProgressDisplay {
  log(entry: LogEntry): void
  status(change: StatusChange): void
  /** Leaves the output clean for what is printed after. */
  close(): void
}

export interface Output {
  write(text: string): unknown
  columns?: number
}

/**
 * Plain lines, for CI logs and files: the build's log as it is, without terminal controls. Status
 * changes need no lines of their own: the log already marks each phase ("==> build") and ends
 * with the outcome.
 */
export function plainDisplay (out: Output): ProgressDisplay {
  return { log: (entry) => out.write(`${terminalText(entry.text)}\n`), status: () => undefined, close: () => undefined }
}

// The step a log line starts: BuildKit's "#5 [2/3] RUN make" or the classic builder's "Step 2/5 : RUN make".
const STEP_STARTS = [/^#\d+ (\[[^\]]+\] .+)$/, /^(Step \d+\/\d+ : .+)$/]

const CLEAR_LINE = '\r\x1b[2K'

/**
 * For a terminal: the build's lines scroll above one status line that is redrawn in place, with
 * the time since the build was submitted first (a long step is cut at the terminal's width, never
 * the time), then the status, phase and current step. `now` and `startedAtMs` are the local
 * clock's; `tick` redraws (every second from a timer). Closing clears the line, once: what is
 * printed after (the summary, or after Ctrl-C why following stopped) starts on a clean line.
 */
export function liveDisplay (out: Output, startedAtMs: number, now: () => number = Date.now): ProgressDisplay & { tick(): void } {
  let status = 'queued'
  let phase: string | null = null
  let step: string | null = null
  let closed = false
  const render = () => {
    if (closed) return
    const parts = [formatDuration(now() - startedAtMs), status, phase, step].filter(Boolean)
    const line = terminalText(parts.join(' · '))
    const width = Math.max(20, (out.columns ?? 80) - 1)
    out.write(`${CLEAR_LINE}${line.length > width ? `${line.slice(0, width - 1)}…` : line}`)
  }
  const timer = setInterval(render, 1000)
  timer.unref()
  render()
  return {
    log (entry) {
      const text = terminalText(entry.text)
      const starts = STEP_STARTS.map((pattern) => pattern.exec(text)?.[1]).find(Boolean)
      if (starts) step = starts
      out.write(`${CLEAR_LINE}${text}\n`)
      render()
    },
    status (change) {
      if (change.phase !== phase) step = null
      status = change.status
      phase = change.phase
      render()
    },
    tick: render,
    close () {
      clearInterval(timer)
      if (!closed) out.write(CLEAR_LINE)
      closed = true
    }
  }
}
