import { mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import type Docker from 'dockerode'
import type { Logger } from 'pino'
import { endBuild, queueExpired, workerLost } from '../src/services/build-ending.js'
import type { BuildLogs } from '../src/storage/build-log.js'
import { toResource } from '../src/domain/builds/build-resource.js'
import type { BuildStore } from '../src/storage/build-store.js'
import { splitImageName } from '../src/domain/builds/image-ref.js'
import { statusText } from '../src/domain/build-status.js'
import { summaryLines as imageSummaryLines, type LayerNames } from '../src/domain/build-summary.js'
import { formatBytes, formatDuration } from '../src/domain/format.js'
import type { BuildMetrics } from '../src/metrics/worker-metrics.js'
import { TERMINAL_STATUSES, type BuildError, type BuildRecord, type BuildStatus, type Image, type PhaseName, type RanOn } from '../src/domain/schemas/build.js'
import { eventTypeOf, type WebhookQueue } from '../src/storage/webhook-queue.js'
import { BuildFailure, isDockerUnreachable } from '../src/domain/builds/build-failure.js'
import { runPipeline } from './build-pipeline.js'
import { attemptRecord, createBuildProgress } from './build-progress.js'
import { authForRegistry, authsForBuild } from './docker/registry-auth.js'
import { gitAuthFor, loadGitCredentials, NO_GIT_AUTH } from './source/git-credentials.js'
import { createRedactor, secretValueForms } from './redaction.js'
import { loadBuildSecrets, type BuildSecrets } from '../src/storage/secrets.js'
import { SecretUnreadable } from '../src/domain/secrets/secret-key.js'
import type { BuildCredentials, PipelineContext, PipelineSettings } from './pipeline-context.js'
import type { MirrorCache } from './source/git-mirror.js'
import type { EngineLookup } from './docker/engine-identity.js'

type SecretSources = Parameters<typeof loadBuildSecrets>[0]

export interface BuildRunnerDeps {
  store: BuildStore
  logs: BuildLogs
  uploads: PipelineContext['uploads']
  imageScans: PipelineContext['imageScans']
  cacheFacts: PipelineContext['cacheFacts']
  buildPackages: PipelineContext['buildPackages']
  docker: Docker
  /** This worker process (host:pid) and its Docker Engine, which each build records as where it ran. */
  place: { worker: string; engine: EngineLookup }
  logger: Logger
  events: Pick<WebhookQueue, 'emit'>
  mirrors: MirrorCache
  metrics: BuildMetrics
  /** Where the build secrets a build names are read from (null secrets: no SLIPWAY_SECRETS_KEY here). */
  secretStore: SecretSources
  /** Told which attempt of a build this process is running, so it can tell when another took over. */
  onAttempt?: (buildId: string, attempt: number) => void
  settings: {
    workDir: string
    dockerConfig: string
    gitCredentialsFile: string
    logMaxBytes: number
    queueTtlSeconds: number
    maxAttempts: number
  }
  /** What the phases are set up with, the same for every build. */
  pipeline: PipelineSettings
}

interface Outcome {
  status: BuildStatus
  image: Image | null
  error: BuildError | null
  reusedFrom?: string | null
  fingerprint?: string | null
  warnings?: string[]
}

/** Why a running build's signal was aborted, besides its time limit. */
export const ABORT_REASONS = { cancel: 'canceled', shutdown: 'shutdown', stale: 'taken-over' } as const

/**
 * Runs one build to its terminal state. Safe to run again for the same build (BullMQ delivers at
 * least once): it starts over in a fresh folder, and the final write only lands on a running build.
 * Aborted for a shutdown, it ends nothing: the build goes back to `queued` for another worker
 * and this returns 'handed-back'.
 */
export async function runBuild (buildId: string, deps: BuildRunnerDeps, cancelSignal?: AbortSignal): Promise<'handed-back' | void> {
  const build = await deps.store.get(buildId)
  if (!build || TERMINAL_STATUSES.includes(build.status) || (await endedBeforeStart(build, deps))) return
  const run = await startAttempt(build, deps)
  if (!run) return
  try {
    const outcome = await execute(build, run, deps, cancelSignal)
    if (cancelSignal?.reason === ABORT_REASONS.stale) return await giveUp(run)
    if (cancelSignal?.reason === ABORT_REASONS.shutdown && outcome.status !== 'succeeded') return await handBack(run)
    await conclude(run, outcome, deps)
  } finally {
    for (const work of run.afterEnd) await work().catch((error: unknown) => run.logger.warn({ err: error }, 'cleaning up after the build failed'))
  }
}

type Attempt = NonNullable<Awaited<ReturnType<typeof startAttempt>>>

/** Claims the build for this attempt (compare-and-set on the attempt count: of two workers, one wins). */
async function startAttempt (build: BuildRecord, deps: BuildRunnerDeps) {
  const attempt = build.attempts + 1
  // An engine that cannot be asked fails the build on its own (DOCKER_UNAVAILABLE): no reason to stop here.
  const ranOn: RanOn = { worker: deps.place.worker, engine: await deps.place.engine() }
  const startedAt = new Date()
  const set = { startedAt: startedAt.toISOString(), attempts: attempt, ranOn, phases: [], steps: [], builder: null, image: null, cache: null, error: null }
  const started = await deps.store.transition(build.id, { from: ['queued', 'running'], to: 'running', set, attempt: build.attempts })
  if (!started) return null
  deps.onAttempt?.(build.id, attempt)
  if (attempt === 1) deps.metrics.queueWaitSeconds.observe((startedAt.getTime() - Date.parse(build.createdAt)) / 1000)
  // Nothing is stored before it passes the redactor, which learns this build's credentials later.
  const redactor = { redact: createRedactor([]) }
  const record = attemptRecord(deps.store, build.id, attempt, (text) => redactor.redact(text))
  const logger = deps.logger.child({ buildId: build.id, attempt })
  if (!ranOn.engine) logger.warn('the Docker Engine did not say its id and name (docker info): the build records none')
  // A build run again after its worker died has been announced as started already. The build
  // does not wait for the announcement; its end's announcement does, so the two keep their order.
  const announced = attempt === 1 ? announce({ ...build, status: 'running', ...set }, deps, logger) : Promise.resolve()
  // The start's status event is in the log already: the store writes it with the change.
  const log = await deps.logs.openWriter(build.id, { maxBytes: deps.settings.logMaxBytes, redact: (text) => redactor.redact(text) })
  logger.info({ repo: build.request.repo, ref: build.request.ref, upload: build.request.source?.sha256 }, 'build started')
  const progress = createBuildProgress(record, log, (phase) =>
    deps.metrics.phaseSeconds.observe({ phase: phase.name, outcome: phase.status }, (phase.durationMs ?? 0) / 1000)
  )
  // What the pipeline hands over to run once the build's end is written.
  const afterEnd: (() => Promise<unknown>)[] = []
  return { id: build.id, attempt, startedAt, ranOn, record, logger, log, redactor, progress, announced, afterEnd }
}

/** The pipeline under the build's one signal (its time limit and any abort), as an outcome. */
async function execute (build: BuildRecord, run: Attempt, deps: BuildRunnerDeps, cancelSignal: AbortSignal | undefined): Promise<Outcome> {
  const timeout = AbortSignal.timeout(build.request.timeoutSeconds * 1000)
  const signal = cancelSignal ? AbortSignal.any([cancelSignal, timeout]) : timeout
  const workspace = path.join(deps.settings.workDir, `${build.id}-${run.attempt}`)
  try {
    const credentials = await loadCredentials(deps, build)
    run.redactor.redact = createRedactor(secretsOf(credentials))
    await rm(workspace, { recursive: true, force: true })
    await mkdir(workspace, { recursive: true })
    const result = await runPipeline(pipelineContext(build, run, deps, { signal, workspace, credentials }))
    return { status: 'succeeded', image: result.image, error: null, reusedFrom: result.reusedFrom, fingerprint: result.fingerprint, warnings: result.warnings }
  } catch (error) {
    const abortedFor: unknown = cancelSignal?.aborted ? cancelSignal.reason : undefined
    const outcome = failureOutcome(error, { phase: run.progress.current(), timedOut: timeout.aborted, abortedFor, build })
    if (outcome.error?.code === 'INTERNAL') run.logger.error({ err: error }, 'build failed unexpectedly')
    return outcome
  } finally {
    await rm(workspace, { recursive: true, force: true }).catch((error: unknown) => run.logger.warn({ err: error }, 'could not remove the workspace'))
  }
}

/** What the pipeline runs this attempt with: the attempt's own record, log and signal, and the worker's services and settings. */
function pipelineContext (
  build: BuildRecord,
  run: Attempt,
  deps: BuildRunnerDeps,
  attempt: Pick<PipelineContext, 'signal' | 'workspace' | 'credentials'>
): PipelineContext {
  const { store, uploads, imageScans, cacheFacts, buildPackages, docker, mirrors } = deps
  const engine = run.ranOn.engine
  const afterEnd = (work: () => Promise<unknown>) => {
    run.afterEnd.push(work)
  }
  return { build, record: run.record, progress: run.progress, log: run.log, ...attempt, afterEnd, store, uploads, imageScans, cacheFacts, buildPackages, docker, engine, mirrors, settings: deps.pipeline }
}

/** Writes the terminal state, once: lines first, then the state with its event, then its announcement. */
async function conclude (run: Attempt, outcome: Outcome, deps: BuildRunnerDeps): Promise<void> {
  const finishedAt = new Date()
  const durationMs = finishedAt.getTime() - run.startedAt.getTime()
  // The base images the build phase recorded and the steps name the image's layers in the summary.
  const stored = outcome.image ? await deps.store.get(run.id).catch(() => null) : null
  const names: LayerNames = stored ? { baseImages: stored.baseImages, steps: run.progress.stepsSoFar(), variants: stored.variants } : {}
  for (const line of summaryLines(outcome, durationMs, names)) run.log.write('', 'system', line)
  // A follower that sees the terminal event has every line before it.
  await run.log.flush()
  await run.progress.settle()
  const finished = await run.record.end(outcome.status, {
    finishedAt: finishedAt.toISOString(),
    durationMs,
    ...run.progress.endedAs(outcome.status),
    image: outcome.image,
    error: outcome.error,
    reusedFrom: outcome.reusedFrom ?? null,
    warnings: outcome.warnings ?? []
  })
  if (finished && outcome.status === 'succeeded' && outcome.fingerprint && !outcome.reusedFrom) {
    await deps.store.rememberReusable(outcome.fingerprint, run.id)
  }
  if (finished) deps.metrics.finished.inc({ status: outcome.status, code: outcome.error?.code ?? 'none', engine: run.ranOn.engine?.name ?? 'unknown' })
  await run.log.close()
  await run.announced
  if (finished) await announceStored(run.id, deps, run.logger)
  run.logger.info({ status: outcome.status, code: outcome.error?.code, durationMs }, 'build finished')
}

/** Another worker runs this build now (this one had lost its lock): leave the record to it. */
async function giveUp (run: Attempt): Promise<void> {
  run.log.write('', 'system', '==> another worker took this build over; this attempt stops here')
  await run.log.close()
  run.logger.warn('build taken over by another worker')
}

/** Shutting down: the build goes back to the queue for another worker; this start is not a loss. */
async function handBack (run: Attempt): Promise<'handed-back'> {
  run.log.write('', 'system', '==> the worker is shutting down: the build goes back to the queue and starts again on another worker')
  await run.log.flush()
  await run.progress.settle()
  await run.record.end('queued', { attempts: run.attempt - 1, ranOn: null, phases: [], steps: [] })
  await run.log.close()
  run.logger.info('build handed back')
  return 'handed-back'
}

/** Tells webhooks about the build as it is stored now. */
async function announceStored (buildId: string, deps: BuildRunnerDeps, logger: Logger): Promise<void> {
  const record = await deps.store.get(buildId).catch((error: unknown) => logger.error({ err: error }, 'build event not announced: the build could not be read'))
  if (record) await announce(record, deps, logger)
}

/** Tells webhooks about the build in this state; an announcement that cannot be made is logged, not fatal. */
async function announce (record: BuildRecord, deps: BuildRunnerDeps, logger: Logger): Promise<void> {
  await deps.events.emit(eventTypeOf(record.status), toResource(record)).catch((error: unknown) => logger.error({ err: error }, 'build event not announced'))
}

/**
 * Ends a build that must not start: canceled while it waited, queued past the queue's time to
 * live, or already started as often as workers may be lost. True when it ended it (or someone had).
 */
async function endedBeforeStart (build: BuildRecord, deps: BuildRunnerDeps): Promise<boolean> {
  const ending = { store: deps.store, events: deps.events }
  const from: BuildStatus[] = ['queued', 'running']
  if (build.cancelRequested) {
    await endBuild(ending, build.id, { from, to: 'canceled', error: { code: 'CANCELED', message: 'Canceled by request before a worker could start it again.', phase: null } })
    return true
  }
  if (build.status === 'queued' && Date.now() - Date.parse(build.createdAt) > deps.settings.queueTtlSeconds * 1000) {
    await endBuild(ending, build.id, { from: ['queued'], to: 'failed', error: queueExpired(deps.settings.queueTtlSeconds) })
    return true
  }
  if (build.attempts >= deps.settings.maxAttempts) {
    await endBuild(ending, build.id, { from, to: 'failed', error: workerLost(build.attempts) })
    return true
  }
  return false
}

/**
 * The credentials this build may use, read once, up front: registry ones from the Docker config,
 * git ones for the repository's host from the git credentials file, and the build secrets it
 * names, checked again against who may use them now.
 */
async function loadCredentials (deps: Pick<BuildRunnerDeps, 'settings' | 'secretStore'>, build: BuildRecord): Promise<BuildCredentials> {
  const { settings } = deps
  const { registry } = splitImageName(build.request.image)
  const { repo } = build.request
  // An upload fetches nothing with git.
  const git = repo === null ? NO_GIT_AUTH : gitAuthFor(repo, await loadGitCredentials(settings.gitCredentialsFile))
  const buildSecrets = await loadSecretsFor(deps.secretStore, build)
  try {
    const forPush = build.request.push ? await authForRegistry(settings.dockerConfig, registry) : undefined
    const forBuild = await authsForBuild(settings.dockerConfig)
    // The engine imports registry cache with the build's credentials, which hold only `auths`
    // entries: those of every registry cache may come from are added, a credential helper's too.
    for (const host of cacheRegistries(build.request)) {
      const auth = host === registry && forPush ? forPush : await authForRegistry(settings.dockerConfig, host)
      if (auth && !forBuild[auth.serveraddress]) forBuild[auth.serveraddress] = auth
    }
    return { registry, git, forBuild, forPush, buildSecrets }
  } catch (error) {
    throw new BuildFailure('WORKER_CONFIG_INVALID', (error as Error).message)
  }
}

/** The build secrets a build names, or why it may not have them, as the build's failure. */
async function loadSecretsFor (sources: SecretSources, build: BuildRecord): Promise<BuildSecrets> {
  const named = (build.request.secrets?.length ?? 0) + (build.request.ssh?.length ?? 0)
  if (named > 0 && !sources.secrets) {
    throw new BuildFailure('WORKER_CONFIG_INVALID', 'The build names secrets, but this worker has no SLIPWAY_SECRETS_KEY to open them: give the workers the key the API has.')
  }
  try {
    return await loadBuildSecrets(sources, build)
  } catch (error) {
    if ((error as { code?: string }).code === 'SECRET_NOT_ALLOWED') throw new BuildFailure('SECRET_NOT_ALLOWED', (error as Error).message)
    if (error instanceof SecretUnreadable) {
      throw new BuildFailure('WORKER_CONFIG_INVALID', `${error.message} Give the workers the SLIPWAY_SECRETS_KEY (and SLIPWAY_SECRETS_KEY_PREVIOUS) the API has.`)
    }
    throw error
  }
}

/** The registries a build may import registry cache from: its own (the previous build's image is there) and cacheFrom's. */
function cacheRegistries (request: BuildRecord['request']): string[] {
  if (request.registryCache === false) return []
  const images = [...(request.push ? [request.image] : []), ...(request.cacheFrom ?? [])]
  return [...new Set(images.map((image) => splitImageName(image).registry))]
}

/** Every secret a build's credentials hold, for the redactor. */
function secretsOf (credentials: BuildCredentials) {
  const { secrets, ssh } = credentials.buildSecrets
  return [
    ...Object.values(credentials.forBuild),
    ...(credentials.forPush ? [credentials.forPush] : []),
    ...credentials.git.secrets,
    ...[...Object.values(secrets), ...Object.values(ssh)].flatMap(secretValueForms)
  ]
}

function failureOutcome (
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

/**
 * The log's last words. For an image: the summary (size, change, budget, largest layer, first
 * finding) worded by src/domain/build-summary.js as the CLI, chat messages and the portal show it,
 * then the advisor's first three findings and the warnings. Last of all, the outcome.
 */
function summaryLines (outcome: Outcome, durationMs: number, names: LayerNames): string[] {
  const took = formatDuration(durationMs)
  if (outcome.status !== 'succeeded' || !outcome.image) {
    return [`==> ${statusText(outcome.status)} after ${took}${outcome.error ? `: ${outcome.error.code}: ${outcome.error.message}` : ''}`]
  }
  const image = outcome.image
  const lines = ['==> image', ...imageSummaryLines(image, names).map((line) => `    ${line}`)]
  for (const finding of image.findings.slice(0, 3)) {
    lines.push(`    advice (${finding.rule}${finding.bytes ? `, ${formatBytes(finding.bytes)}` : ''}): ${finding.message}`)
  }
  for (const warning of outcome.warnings ?? []) lines.push(`    warning  ${warning}`)
  const where = image.digest ? `${image.repository}@${image.digest}` : image.tags.join(', ')
  lines.push(`==> succeeded in ${took}: ${where}, ${formatBytes(image.sizeBytes)}`)
  return lines
}
