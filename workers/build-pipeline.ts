import path from 'node:path'
import type Docker from 'dockerode'
import type { LogStreamName, LogWriter } from '../src/builds/build-log.js'
import type { BuildStore } from '../src/builds/build-store.js'
import type { RedisKeys } from '../src/builds/keys.js'
import type { RepoPolicy } from '../src/builds/repo-url.js'
import type { Redis } from 'ioredis'
import { buildFingerprint, findReusable } from './reuse.js'
import type { BuildRecord, Builder, Image, PhaseName } from '../src/schemas/build.js'
import type { AttemptRecord, BuildProgress } from './build-progress.js'
import { chooseBuilder } from './docker/builder.js'
import type { RegistryAuth, RegistryAuthMap } from './docker/registry-auth.js'
import { formatBytes } from '../src/format.js'
import { BuildFailure } from './build-failure.js'
import type { GitAuth } from './git-credentials.js'
import { cloneSource } from './phases/clone.js'
import { withinCloneLimits, type CloneLimits } from './phases/clone-limits.js'
import { packContext, planContext } from './phases/context.js'
import { buildImage, type BuildLimits } from './phases/image-build.js'
import { inspectImage } from './phases/inspect.js'
import { pushImage } from './phases/push.js'

export interface PipelineContext {
  redis: Redis
  keys: RedisKeys
  store: BuildStore
  docker: Docker
  log: LogWriter
  /** This attempt's writes to the build record. */
  record: AttemptRecord
  progress: BuildProgress
  signal: AbortSignal
  /** An empty folder of this build's own, removed by the caller afterwards. */
  workspace: string
  credentials: { forBuild: RegistryAuthMap; forPush: RegistryAuth | undefined; registry: string; git: GitAuth }
  settings: {
    repoPolicy: RepoPolicy
    builder: Builder | 'auto'
    clone: CloneLimits
    contextMaxBytes: number
    build: BuildLimits
  }
}

export interface PipelineResult {
  image: Image
  /** The identical earlier build whose image was reused instead of building, if any. */
  reusedFrom: string | null
  /** What identical builds share, for later ones to find this one. */
  fingerprint: string
}

/**
 * clone → context → build → push → inspect: each phase timed, all sharing the one signal. A
 * build identical to an earlier one whose image is still there reuses it instead (unless asked to
 * `force` or `noCache`); with a full commit SHA that is known before cloning.
 */
export async function runPipeline(build: BuildRecord, ctx: PipelineContext): Promise<PipelineResult> {
  const { request } = build
  const { progress, signal } = ctx
  const cloneDir = path.join(ctx.workspace, 'src')
  const logTo = (phase: PhaseName) => (stream: LogStreamName, text: string) => ctx.log.write(phase, stream, text)
  const tagsAt = (commit: string) => (request.tags ?? [commit.slice(0, 12)]).map((tag) => `${request.image}:${tag}`)
  const reuse = async (commit: string): Promise<PipelineResult | null> => {
    const fingerprint = buildFingerprint(request, commit, tagsAt(commit))
    const earlier = request.force || request.noCache ? null : await findReusable(ctx, fingerprint, ctx.credentials.forPush)
    if (!earlier?.image) return null
    ctx.log.write('', 'system', `==> identical to build ${earlier.id} (commit ${commit.slice(0, 12)}, same options), whose image is still there: reusing it. Ask for force: true to build again.`)
    for (const phase of ['context', 'build', 'push', 'inspect'] as const) progress.skip(phase)
    // Nothing ran: the timeline is the earlier build's, every step served as if from the cache.
    progress.steps(earlier.steps.map((step) => ({ ...step, status: 'succeeded', cached: true, startedAt: null, durationMs: 0 })))
    await progress.settle()
    return { image: earlier.image, reusedFrom: earlier.id, fingerprint }
  }

  const pinned = request.ref !== null && /^[0-9a-f]{40}$/.test(request.ref) ? request.ref : null
  if (pinned) {
    const reused = await reuse(pinned)
    if (reused) {
      progress.skip('clone')
      await ctx.record.update({ commit: pinned, resolvedRef: null })
      return reused
    }
  }
  const source = await progress.run('clone', () =>
    withinCloneLimits(cloneDir, ctx.settings.clone, signal, (cloneSignal) =>
      cloneSource({
        repo: request.repo,
        ref: request.ref,
        dir: cloneDir,
        policy: ctx.settings.repoPolicy,
        env: ctx.credentials.git.env,
        submodules: request.submodules,
        signal: cloneSignal,
        log: logTo('clone')
      })
    )
  )
  await ctx.record.update({ commit: source.commit, resolvedRef: source.resolvedRef })
  const reused = pinned ? null : await reuse(source.commit)
  if (reused) return reused

  const plan = await progress.run('context', async () => {
    const planned = await planContext({ cloneDir, context: request.context, dockerfile: request.dockerfile, keepGitDir: request.keepGitDir, signal })
    logTo('context')('system', `Context '${request.context}': ${planned.files} files, ${formatBytes(planned.bytes)}; Dockerfile '${request.dockerfile}'`)
    if (planned.bytes > ctx.settings.contextMaxBytes) {
      throw new BuildFailure(
        'CONTEXT_TOO_LARGE',
        `The context holds ${formatBytes(planned.bytes)}, more than the ${formatBytes(ctx.settings.contextMaxBytes)} this server sends (SLIPWAY_CONTEXT_MAX_BYTES). ` +
          'A .dockerignore that leaves out what the image does not need (dependencies, build output, data) makes it smaller.'
      )
    }
    return planned
  })

  const tags = tagsAt(source.commit)
  const { imageId } = await progress.run('build', async () => {
    const { builder, why } = await chooseBuilder(ctx.docker, request.builder, ctx.settings.builder, plan)
    await ctx.record.update({ builder })
    logTo('build')('system', `Building with ${builder === 'buildkit' ? 'BuildKit' : 'the classic builder'}${why ? ` (${why})` : ''}`)
    try {
      return await buildImage({
        docker: ctx.docker,
        builder,
        context: packContext(plan, signal),
        dockerfile: plan.dockerfile,
        tags,
        buildArgs: request.buildArgs,
        labels: { ...request.labels, 'org.opencontainers.image.source': request.repo, 'org.opencontainers.image.revision': source.commit },
        target: request.target,
        noCache: request.noCache,
        limits: ctx.settings.build,
        registryAuth: ctx.credentials.forBuild,
        signal,
        log: logTo('build'),
        onSteps: (steps) => progress.steps(steps),
        drain: () => ctx.log.drain()
      })
    } finally {
      await progress.settle()
    }
  })

  let digest: string | null = null
  if (request.push) {
    const pushed = await progress.run('push', () =>
      pushImage({
        docker: ctx.docker,
        repository: request.image,
        registry: ctx.credentials.registry,
        tags: tags.map((tag) => tag.slice(request.image.length + 1)),
        auth: ctx.credentials.forPush,
        signal,
        log: logTo('push')
      })
    )
    digest = pushed.digest
  } else {
    progress.skip('push')
  }

  const inspected = await progress.run('inspect', () => inspectImage(ctx.docker, imageId))
  return {
    image: { id: imageId, repository: request.image, tags, pushed: request.push, digest, ...inspected },
    reusedFrom: null,
    fingerprint: buildFingerprint(request, source.commit, tags)
  }
}
