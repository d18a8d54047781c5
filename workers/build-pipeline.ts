import path from 'node:path'
import type Docker from 'dockerode'
import type { LogStreamName, LogWriter } from '../src/builds/build-log.js'
import type { BuildStore } from '../src/builds/build-store.js'
import type { BuildRecord, Builder, Image, PhaseName } from '../src/schemas/build.js'
import type { BuildProgress } from './build-progress.js'
import { chooseBuilder } from './docker/builder.js'
import type { RegistryAuth, RegistryAuthMap } from './docker/registry-auth.js'
import { formatBytes } from '../src/format.js'
import { cloneSource } from './phases/clone.js'
import { packContext, planContext } from './phases/context.js'
import { buildImage } from './phases/image-build.js'
import { inspectImage } from './phases/inspect.js'
import { pushImage } from './phases/push.js'

export interface PipelineContext {
  store: BuildStore
  docker: Docker
  log: LogWriter
  progress: BuildProgress
  signal: AbortSignal
  /** An empty folder of this build's own, removed by the caller afterwards. */
  workspace: string
  credentials: { forBuild: RegistryAuthMap; forPush: RegistryAuth | undefined; registry: string }
  settings: { allowLocalRepos: boolean; builder: Builder | 'auto' }
}

/** clone → context → build → push → inspect: each phase timed, all sharing the one signal. */
export async function runPipeline(build: BuildRecord, ctx: PipelineContext): Promise<Image> {
  const { request } = build
  const { progress, signal } = ctx
  const cloneDir = path.join(ctx.workspace, 'src')
  const logTo = (phase: PhaseName) => (stream: LogStreamName, text: string) => ctx.log.write(phase, stream, text)

  const source = await progress.run('clone', () =>
    cloneSource({ repo: request.repo, ref: request.ref, dir: cloneDir, allowFileProtocol: ctx.settings.allowLocalRepos, signal, log: logTo('clone') })
  )
  await ctx.store.transition(build.id, { from: ['running'], to: 'running', set: { commit: source.commit, resolvedRef: source.resolvedRef } })

  const plan = await progress.run('context', async () => {
    const planned = await planContext({ cloneDir, context: request.context, dockerfile: request.dockerfile, keepGitDir: request.keepGitDir, signal })
    logTo('context')('system', `Context '${request.context}': ${planned.files} files, ${formatBytes(planned.bytes)}; Dockerfile '${request.dockerfile}'`)
    return planned
  })

  const tags = (request.tags ?? [source.commit.slice(0, 12)]).map((tag) => `${request.image}:${tag}`)
  const { imageId } = await progress.run('build', async () => {
    const { builder, why } = await chooseBuilder(ctx.docker, request.builder, ctx.settings.builder, plan)
    await ctx.store.transition(build.id, { from: ['running'], to: 'running', set: { builder } })
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
  return { id: imageId, repository: request.image, tags, pushed: request.push, digest, ...inspected }
}
