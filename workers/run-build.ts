import { mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import type Docker from 'dockerode'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { openLogWriter } from '../src/builds/build-log.js'
import type { BuildStore } from '../src/builds/build-store.js'
import { splitImageName } from '../src/builds/image-ref.js'
import type { RedisKeys } from '../src/builds/keys.js'
import { TERMINAL_STATUSES, type BuildError, type BuildRecord, type BuildStatus, type Builder, type Image, type PhaseName } from '../src/schemas/build.js'
import { BuildFailure, isDockerUnreachable } from './build-failure.js'
import { runPipeline, type PipelineContext } from './build-pipeline.js'
import { attemptRecord, createBuildProgress } from './build-progress.js'
import { authForRegistry, authsForBuild } from './docker/registry-auth.js'
import { formatBytes } from '../src/format.js'
import { createRedactor } from './redaction.js'
import { rememberBuild } from './reuse.js'
import { endBuild } from '../src/builds/build-ending.js'
import { toResource } from '../src/builds/build-resource.js'
import { eventTypeOf, type WebhookQueue } from '../src/webhooks/webhook-queue.js'

export interface BuildRunnerDeps {
  redis: Redis
  keys: RedisKeys
  store: BuildStore
  docker: Docker
  logger: Logger
  events: Pick<WebhookQueue, 'emit'>
  /** Told which attempt of a build this process is running, so it can tell when another took over. */
  onAttempt?: (buildId: string, attempt: number) => void
  settings: {
    workDir: string
    dockerConfig: string
    allowLocalRepos: boolean
    logMaxBytes: number
    builder: Builder | 'auto'
    queueTtlSeconds: number
    maxAttempts: number
  }
}

interface Outcome {
  status: BuildStatus
  image: Image | null
  error: BuildError | null
  reusedFrom?: string | null
  fingerprint?: string
}

/** Why a running build's signal was aborted, besides its time limit. */
export const ABORT_REASONS = { cancel: 'canceled', shutdown: 'shutdown', stale: 'taken-over' } as const

/**
 * Runs one build to its terminal state. Safe to run again for the same build (BullMQ delivers at
 * least once): it starts over in a fresh folder, and the final write only lands on a running build.
 * Aborted for a shutdown, it ends nothing: the build goes back to `queued` for another worker
 * and this returns 'handed-back'.
 */
export async function runBuild(buildId: string, deps: BuildRunnerDeps, cancelSignal?: AbortSignal): Promise<'handed-back' | void> {
  const build = await deps.store.get(buildId)
  if (!build || TERMINAL_STATUSES.includes(build.status)) return
  if (await endedBeforeStart(build, deps)) return
  const attempt = build.attempts + 1
  const startedAt = new Date()
  // Compare-and-set on the attempt count too: of two workers given the same build, one starts it.
  const started = await deps.store.transition(buildId, {
    from: ['queued', 'running'],
    to: 'running',
    set: { startedAt: startedAt.toISOString(), attempts: attempt, phases: [], steps: [], builder: null, image: null, error: null },
    attempt: build.attempts
  })
  if (!started) return
  deps.onAttempt?.(buildId, attempt)
  const record = attemptRecord(deps.store, buildId, attempt)

  const logger = deps.logger.child({ buildId, attempt })
  const announce = async (record: BuildRecord | null) => {
    // An announcement that cannot be made must not fail the build; it is logged.
    if (record) await deps.events.emit(eventTypeOf(record.status), toResource(record)).catch((error: unknown) => logger.error({ err: error }, 'build event not announced'))
  }
  // A build run again after its worker died has been announced as started already.
  if (attempt === 1) await announce(await deps.store.get(buildId))
  // Nothing is stored before it passes the redactor, which learns this build's credentials below.
  let redact = createRedactor([])
  const log = await openLogWriter(deps.redis, deps.keys, buildId, { maxBytes: deps.settings.logMaxBytes, redact: (text) => redact(text) })
  log.status('running', null)
  const timeout = AbortSignal.timeout(build.request.timeoutSeconds * 1000)
  const signal = cancelSignal ? AbortSignal.any([cancelSignal, timeout]) : timeout
  const progress = createBuildProgress(record, log)
  const workspace = path.join(deps.settings.workDir, `${buildId}-${attempt}`)
  logger.info({ repo: build.request.repo, ref: build.request.ref }, 'build started')

  let outcome: Outcome
  try {
    const credentials = await loadCredentials(deps.settings.dockerConfig, build)
    redact = createRedactor([...Object.values(credentials.forBuild), ...(credentials.forPush ? [credentials.forPush] : [])])
    await rm(workspace, { recursive: true, force: true })
    await mkdir(workspace, { recursive: true })
    const context: PipelineContext = { ...deps, log, record, progress, signal, workspace, credentials }
    const result = await runPipeline(build, context)
    outcome = { status: 'succeeded', image: result.image, error: null, reusedFrom: result.reusedFrom, fingerprint: result.fingerprint }
  } catch (error) {
    outcome = failureOutcome(error, { phase: progress.current(), timedOut: timeout.aborted, abortedFor: cancelSignal?.aborted ? cancelSignal.reason : undefined, build })
    if (outcome.error) outcome.error.message = redact(outcome.error.message)
    if (outcome.error?.code === 'INTERNAL') logger.error({ err: error }, 'build failed unexpectedly')
  } finally {
    await rm(workspace, { recursive: true, force: true }).catch((error: unknown) => logger.warn({ err: error }, 'could not remove the workspace'))
  }

  if (cancelSignal?.reason === ABORT_REASONS.stale) {
    // Another worker runs this build now; this attempt leaves the record to it.
    log.write('', 'system', '==> another worker took this build over; this attempt stops here')
    await log.close()
    logger.warn('build taken over by another worker')
    return
  }
  if (cancelSignal?.reason === ABORT_REASONS.shutdown && outcome.status !== 'succeeded') {
    // Handed back: queued again for another worker; this start does not count as a loss.
    log.write('', 'system', '==> the worker is shutting down: the build goes back to the queue and starts again on another worker')
    await progress.settle()
    await record.end('queued', { attempts: attempt - 1, phases: [], steps: [] })
    log.status('queued', null)
    await log.close()
    logger.info('build handed back')
    return 'handed-back'
  }

  const finishedAt = new Date()
  const durationMs = finishedAt.getTime() - startedAt.getTime()
  log.write('', 'system', summaryLine(outcome, durationMs))
  // Lines first, then the terminal state, then its event: a follower that sees the event has every line.
  await log.flush()
  await progress.settle()
  const finished = await record.end(outcome.status, {
      finishedAt: finishedAt.toISOString(),
      durationMs,
      phases: progress.phases,
      steps: progress.stepList,
      image: outcome.image,
      error: outcome.error,
      reusedFrom: outcome.reusedFrom ?? null
  })
  if (finished && outcome.status === 'succeeded' && outcome.fingerprint && !outcome.reusedFrom) {
    await rememberBuild(deps.redis, deps.keys, outcome.fingerprint, buildId)
  }
  if (finished) log.status(outcome.status, null)
  await log.close()
  if (finished) await announce(await deps.store.get(buildId))
  logger.info({ status: outcome.status, code: outcome.error?.code, durationMs }, 'build finished')
}

/**
 * Ends a build that must not start: canceled while it waited, queued past the queue's time to
 * live, or already started as often as workers may be lost. True when it ended it (or someone had).
 */
async function endedBeforeStart(build: BuildRecord, deps: BuildRunnerDeps): Promise<boolean> {
  const ending = { redis: deps.redis, keys: deps.keys, store: deps.store, events: deps.events }
  const from: BuildStatus[] = ['queued', 'running']
  if (build.cancelRequested) {
    await endBuild(ending, build.id, { from, to: 'canceled', error: { code: 'CANCELED', message: 'Canceled by request before a worker could start it again.', phase: null } })
    return true
  }
  if (build.status === 'queued' && Date.now() - Date.parse(build.createdAt) > deps.settings.queueTtlSeconds * 1000) {
    const message = `The build waited in the queue more than ${deps.settings.queueTtlSeconds} s (SLIPWAY_QUEUE_TTL_SECONDS) and was not started.`
    await endBuild(ending, build.id, { from: ['queued'], to: 'failed', error: { code: 'QUEUE_EXPIRED', message, phase: null } })
    return true
  }
  if (build.attempts >= deps.settings.maxAttempts) {
    await endBuild(ending, build.id, { from, to: 'failed', error: workerLost(build.attempts) })
    return true
  }
  return false
}

export function workerLost(attempts: number): BuildError {
  return {
    code: 'WORKER_LOST',
    message: `The worker running the build was lost ${attempts} time(s) (killed, or its host went away); Slipway gave up. Retry the build.`,
    phase: null
  }
}

/** The registry credentials this build may use, read from the Docker config once, up front. */
async function loadCredentials(dockerConfig: string, build: BuildRecord): Promise<PipelineContext['credentials']> {
  const { registry } = splitImageName(build.request.image)
  try {
    return {
      registry,
      forBuild: await authsForBuild(dockerConfig),
      forPush: build.request.push ? await authForRegistry(dockerConfig, registry) : undefined
    }
  } catch (error) {
    throw new BuildFailure('WORKER_CONFIG_INVALID', (error as Error).message)
  }
}

function failureOutcome(
  error: unknown,
  context: { phase: PhaseName | null; timedOut: boolean; abortedFor: unknown; build: BuildRecord }
): Outcome {
  const phase = context.phase
  if (context.timedOut) {
    const message = `The build ran past its limit of ${context.build.request.timeoutSeconds} s${phase ? ` during ${phase}` : ''} and was stopped.`
    return { status: 'timed_out', image: null, error: { code: 'TIMED_OUT', message, phase } }
  }
  if (context.abortedFor === ABORT_REASONS.cancel) {
    const message = `Canceled by request${phase ? ` during ${phase}` : ''} (POST /v1/builds/{id}/cancel).`
    return { status: 'canceled', image: null, error: { code: 'CANCELED', message, phase } }
  }
  if (error instanceof BuildFailure) {
    return { status: 'failed', image: null, error: { code: error.code, message: error.message, phase, ...error.details } }
  }
  if (isDockerUnreachable(error)) {
    const message = `The worker lost the Docker Engine during ${phase ?? 'the build'} (${(error as Error).message}).`
    return { status: 'failed', image: null, error: { code: 'DOCKER_UNAVAILABLE', message, phase } }
  }
  const message = `Slipway failed unexpectedly during ${phase ?? 'the build'}; the worker's log has the details under build id ${context.build.id}.`
  return { status: 'failed', image: null, error: { code: 'INTERNAL', message, phase } }
}

function summaryLine(outcome: Outcome, durationMs: number): string {
  const took = `${(durationMs / 1000).toFixed(1)} s`
  if (outcome.status === 'succeeded' && outcome.image) {
    const image = outcome.image
    const where = image.digest ? `${image.repository}@${image.digest}` : image.tags.join(', ')
    return `==> succeeded in ${took}: ${where}, ${formatBytes(image.sizeBytes)}`
  }
  return `==> ${outcome.status} after ${took}${outcome.error ? `: ${outcome.error.code}: ${outcome.error.message}` : ''}`
}
