import { mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import type Docker from 'dockerode'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { openLogWriter, type LogStreamName, type LogWriter } from '../src/builds/build-log.js'
import type { BuildStore } from '../src/builds/build-store.js'
import { splitImageName } from '../src/builds/image-ref.js'
import type { RedisKeys } from '../src/builds/keys.js'
import {
  TERMINAL_STATUSES,
  type BuildError,
  type BuildRecord,
  type BuildStatus,
  type Image,
  type Phase,
  type PhaseName
} from '../src/schemas/build.js'
import { BuildFailure, isDockerUnreachable } from './build-failure.js'
import { authForRegistry, authsForBuild } from './docker/registry-auth.js'
import { cloneSource } from './phases/clone.js'
import { packContext, planContext } from './phases/context.js'
import { buildImage } from './phases/image-build.js'
import { inspectImage } from './phases/inspect.js'
import { pushImage } from './phases/push.js'

export interface BuildRunnerDeps {
  redis: Redis
  keys: RedisKeys
  store: BuildStore
  docker: Docker
  logger: Logger
  settings: { workDir: string; dockerConfig: string; allowLocalRepos: boolean; logMaxBytes: number }
}

interface Outcome {
  status: BuildStatus
  image: Image | null
  error: BuildError | null
}

/**
 * Runs one build to its terminal state. Safe to run again for the same build (BullMQ delivers at
 * least once): it starts over in a fresh folder, and the final write only lands on a running build.
 */
export async function runBuild(buildId: string, deps: BuildRunnerDeps, cancelSignal?: AbortSignal): Promise<void> {
  const build = await deps.store.get(buildId)
  if (!build || TERMINAL_STATUSES.includes(build.status)) return
  const attempt = build.attempts + 1
  const startedAt = new Date()
  const started = await deps.store.transition(buildId, {
    from: ['queued', 'running'],
    to: 'running',
    set: { startedAt: startedAt.toISOString(), attempts: attempt, phases: [], image: null, error: null }
  })
  if (!started) return

  const logger = deps.logger.child({ buildId, attempt })
  const log = await openLogWriter(deps.redis, deps.keys, buildId, deps.settings.logMaxBytes)
  const timeout = AbortSignal.timeout(build.request.timeoutSeconds * 1000)
  const signal = cancelSignal ? AbortSignal.any([cancelSignal, timeout]) : timeout
  const phases = createPhaseTracker(deps.store, buildId, log)
  const workspace = path.join(deps.settings.workDir, `${buildId}-${attempt}`)
  logger.info({ repo: build.request.repo, ref: build.request.ref }, 'build started')

  let outcome: Outcome
  try {
    await rm(workspace, { recursive: true, force: true })
    await mkdir(workspace, { recursive: true })
    const image = await runPhases(build, { ...deps, log, phases, signal, workspace })
    outcome = { status: 'succeeded', image, error: null }
  } catch (error) {
    outcome = failureOutcome(error, { phase: phases.current(), timedOut: timeout.aborted, canceled: cancelSignal?.aborted ?? false, build })
    if (outcome.error?.code === 'INTERNAL') logger.error({ err: error }, 'build failed unexpectedly')
  } finally {
    await rm(workspace, { recursive: true, force: true }).catch((error: unknown) => logger.warn({ err: error }, 'could not remove the workspace'))
  }

  const finishedAt = new Date()
  const durationMs = finishedAt.getTime() - startedAt.getTime()
  log.write('', 'system', summaryLine(outcome, durationMs))
  await log.close()
  await deps.store.transition(buildId, {
    from: ['running'],
    to: outcome.status,
    set: { finishedAt: finishedAt.toISOString(), durationMs, phases: phases.list, image: outcome.image, error: outcome.error }
  })
  logger.info({ status: outcome.status, code: outcome.error?.code, durationMs }, 'build finished')
}

interface PipelineContext extends BuildRunnerDeps {
  log: LogWriter
  phases: PhaseTracker
  signal: AbortSignal
  workspace: string
}

/** clone → context → build → push → inspect; each phase timed and sharing the one signal. */
async function runPhases(build: BuildRecord, ctx: PipelineContext): Promise<Image> {
  const { request } = build
  const { phases, signal, settings } = ctx
  const cloneDir = path.join(ctx.workspace, 'src')
  const logTo = (phase: PhaseName) => (stream: LogStreamName, text: string) => ctx.log.write(phase, stream, text)

  const source = await phases.run('clone', () =>
    cloneSource({ repo: request.repo, ref: request.ref, dir: cloneDir, allowFileProtocol: settings.allowLocalRepos, signal, log: logTo('clone') })
  )
  await ctx.store.transition(build.id, { from: ['running'], to: 'running', set: { commit: source.commit, resolvedRef: source.resolvedRef } })

  const plan = await phases.run('context', async () => {
    const planned = await planContext({ cloneDir, context: request.context, dockerfile: request.dockerfile, signal })
    logTo('context')('system', `Context '${request.context}': ${planned.files} files, ${formatBytes(planned.bytes)}; Dockerfile '${request.dockerfile}'`)
    return planned
  })

  const tags = (request.tags ?? [source.commit.slice(0, 12)]).map((tag) => `${request.image}:${tag}`)
  const { imageId } = await phases.run('build', async () =>
    buildImage({
      docker: ctx.docker,
      context: packContext(plan, signal),
      dockerfile: plan.dockerfile,
      tags,
      buildArgs: request.buildArgs,
      labels: {
        ...request.labels,
        'org.opencontainers.image.source': request.repo,
        'org.opencontainers.image.revision': source.commit
      },
      target: request.target,
      noCache: request.noCache,
      registryAuth: await authsForBuild(settings.dockerConfig),
      signal,
      log: logTo('build'),
      drain: () => ctx.log.drain()
    })
  )

  let digest: string | null = null
  if (request.push) {
    const { registry } = splitImageName(request.image)
    const pushed = await phases.run('push', async () =>
      pushImage({
        docker: ctx.docker,
        repository: request.image,
        registry,
        tags: tags.map((tag) => tag.slice(request.image.length + 1)),
        auth: await authForRegistry(settings.dockerConfig, registry),
        signal,
        log: logTo('push')
      })
    )
    digest = pushed.digest
  } else {
    phases.skip('push')
  }

  const inspected = await phases.run('inspect', () => inspectImage(ctx.docker, imageId))
  return { id: imageId, repository: request.image, tags, pushed: request.push, digest, ...inspected }
}

type PhaseTracker = ReturnType<typeof createPhaseTracker>

/** Times each phase and keeps the build record's `phases` current as they start and end. */
function createPhaseTracker(store: BuildStore, buildId: string, log: LogWriter) {
  const list: Phase[] = []
  let running: PhaseName | null = null
  const save = () => store.transition(buildId, { from: ['running'], to: 'running', set: { phases: list } })

  return {
    list,
    current: () => running,
    async run<T>(name: PhaseName, work: () => Promise<T>): Promise<T> {
      const started = Date.now()
      const phase: Phase = { name, status: 'running', startedAt: new Date(started).toISOString(), finishedAt: null, durationMs: null }
      list.push(phase)
      running = name
      log.write(name, 'system', `==> ${name}`)
      await save()
      const end = (status: Phase['status']) => {
        phase.status = status
        phase.finishedAt = new Date().toISOString()
        phase.durationMs = Date.now() - started
      }
      try {
        const result = await work()
        end('succeeded')
        running = null
        await save()
        return result
      } catch (error) {
        end('failed')
        throw error
      }
    },
    skip(name: PhaseName) {
      const now = new Date().toISOString()
      list.push({ name, status: 'skipped', startedAt: now, finishedAt: now, durationMs: 0 })
    }
  }
}

function failureOutcome(
  error: unknown,
  context: { phase: PhaseName | null; timedOut: boolean; canceled: boolean; build: BuildRecord }
): Outcome {
  const phase = context.phase
  if (context.timedOut) {
    const message = `The build ran past its limit of ${context.build.request.timeoutSeconds} s${phase ? ` during ${phase}` : ''} and was stopped.`
    return { status: 'timed_out', image: null, error: { code: 'TIMED_OUT', message, phase } }
  }
  if (context.canceled) return { status: 'canceled', image: null, error: null }
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

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit += 1
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}
