import type { LogWriter } from '../src/storage/build-log.js'
import type { BuildStore, Transition } from '../src/storage/build-store.js'
import type { BuildStatus, Phase, PhaseName, Step } from '../src/domain/schemas/build.js'
import { redactAll } from './redaction.js'

// Steps change many times a second in a busy build; the record is rewritten at most this often.
const STEP_SAVE_INTERVAL_MS = 250

export type BuildProgress = ReturnType<typeof createBuildProgress>
export type AttemptRecord = ReturnType<typeof attemptRecord>

/**
 * One attempt's writes to its build record. Each lands only while this attempt still owns the
 * build: a worker that lost its lock, whose build another worker has started again, changes nothing.
 * Every string written passes `redact` first, whichever field it is in (an error, a variant's row,
 * a step's text), as every log line does.
 */
export function attemptRecord (store: BuildStore, buildId: string, attempt: number, redact: (text: string) => string) {
  const write = (to: BuildStatus, set: Transition['set']) => store.transition(buildId, { from: ['running'], to, set: redactAll(set, redact), attempt })
  return {
    attempt,
    update: (set: Transition['set']) => write('running', set),
    end: write
  }
}

/**
 * Keeps the build record's `phases` and `steps` current while a worker runs it, and puts each
 * phase change in the log stream as a status event for followers. `phaseEnded` hears of each
 * phase that ran, as it ends (for metrics).
 *
 * Nothing waits for these writes: one is on its way at a time, and what changes meanwhile (a
 * phase's end and the next one's start, a burst of steps) goes in the next one, together. A
 * follower learns of a phase from the log's status event; the record trails it by a write, and
 * `settle()` brings it up to date.
 */
export function createBuildProgress (record: AttemptRecord, log: LogWriter, phaseEnded: (phase: Phase) => void) {
  const phases: Phase[] = []
  let running: PhaseName | null = null
  let steps: Step[] = []
  let stepTimer: NodeJS.Timeout | undefined
  let unsaved: { phases?: Phase[]; steps?: Step[] } = {}
  let writing: Promise<void> | null = null
  // A write that failed, thrown by the next settle().
  let failure: { error: unknown } | null = null

  const write = async () => {
    try {
      // The record is encoded as each write starts: it takes every change made before it.
      while (unsaved.phases || unsaved.steps) {
        const fields = unsaved
        unsaved = {}
        await record.update(fields)
      }
    } catch (error) {
      failure ??= { error }
    } finally {
      writing = null
    }
  }
  const save = (fields: { phases?: Phase[]; steps?: Step[] }) => {
    Object.assign(unsaved, fields)
    writing ??= write()
  }
  const saveSteps = () => {
    clearTimeout(stepTimer)
    stepTimer = undefined
    save({ steps })
  }

  return {
    phases,
    current: () => running,
    /** Runs a phase, timed; `variant` names which variant it builds when a build has several. */
    async run<T>(name: PhaseName, work: () => Promise<T>, variant?: string): Promise<T> {
      const started = Date.now()
      const phase: Phase = { name, status: 'running', startedAt: new Date(started).toISOString(), finishedAt: null, durationMs: null, ...(variant ? { variant } : {}) }
      phases.push(phase)
      running = name
      log.write(name, 'system', `==> ${name}${variant ? ` (${variant})` : ''}`)
      log.status('running', name)
      save({ phases })
      const end = (status: Phase['status']) => {
        phase.status = status
        phase.finishedAt = new Date().toISOString()
        phase.durationMs = Date.now() - started
        phaseEnded(phase)
      }
      try {
        const result = await work()
        end('succeeded')
        running = null
        save({ phases })
        return result
      } catch (error) {
        end('failed')
        throw error
      }
    },
    skip (name: PhaseName, variant?: string) {
      const now = new Date().toISOString()
      phases.push({ name, status: 'skipped', startedAt: now, finishedAt: now, durationMs: 0, ...(variant ? { variant } : {}) })
    },
    /** The steps as last reported. */
    stepsSoFar: (): Step[] => steps,
    /** The builder's steps so far; saved shortly, in one write with any other changes meanwhile. */
    steps (current: Step[]) {
      steps = current
      stepTimer ??= setTimeout(saveSteps, STEP_SAVE_INTERVAL_MS)
    },
    /** Every change so far is in the record; throws what a write since the last settle() failed with. */
    async settle () {
      if (stepTimer) saveSteps()
      while (writing) await writing
      if (failure) {
        const { error } = failure
        failure = null
        throw error
      }
    },
    /**
     * Phases and steps as the ended build keeps them: nothing is left `running`. What a cancel or
     * the time limit stopped is `interrupted`, not `failed`; so is a step still running when
     * another one failed.
     */
    endedAs (status: BuildStatus): { phases: Phase[]; steps: Step[] } {
      const stopped = status === 'canceled' || status === 'timed_out'
      const now = Date.now()
      return {
        phases: phases.map((phase) => (stopped && phase.status === 'failed' ? { ...phase, status: 'interrupted' } : phase)),
        steps: steps.map((step) =>
          step.status === 'running'
            ? { ...step, status: 'interrupted', durationMs: step.startedAt ? now - Date.parse(step.startedAt) : null }
            : step
        )
      }
    }
  }
}
