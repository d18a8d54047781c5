import type { LogStreamName } from '../src/storage/build-log.js'
import { formatBytes } from '../src/domain/format.js'
import type { Image, PhaseName } from '../src/domain/schemas/build.js'
import type { Budget } from '../src/domain/schemas/insight.js'
import { buildNetworkOf } from '../src/domain/builds/build-network.js'
import { BuildFailure } from '../src/domain/builds/build-failure.js'
import type { PipelineContext } from './build-pipeline.js'
import { checkBuildNetwork } from './docker/build-network.js'
import { chooseBuilder } from './docker/builder.js'
import { byBytes, deletedFilesFinding, imageInsight, redisScanCache } from './insight/image-insight.js'
import { packContext, planContext } from '../src/build-context/context.js'
import { buildImage } from './phases/image-build.js'
import { pushImage } from './phases/push.js'
import type { Source } from './source/source.js'

/** One way to build the commit: the request's own, or one of its variants. */
export interface BuildSpec {
  /** The variant's name; null for a build without variants. */
  name: string | null
  dockerfile: string
  target: string | null
  buildArgs: Record<string, string>
  /** Full references to tag the image with. */
  tags: string[]
}

export interface BuiltImage {
  image: Image
  warnings: string[]
}

/**
 * context → build → inspect → push for one spec, from the source's files. The image is measured
 * before it is pushed, so one over a `fail` budget never reaches the registry.
 */
export async function buildVariant (spec: BuildSpec, source: Source, ctx: PipelineContext): Promise<BuiltImage> {
  const { request } = ctx.build
  const { progress, signal } = ctx
  const variant = spec.name ?? undefined
  const logTo = (phase: PhaseName) => (stream: LogStreamName, text: string) => ctx.log.write(phase, stream, text)

  const plan = await progress.run(
    'context',
    async () => {
      const planned = await planContext({ tree: source.tree, context: request.context, dockerfile: spec.dockerfile, keepGitDir: request.keepGitDir, signal })
      logTo('context')('system', `Context '${request.context}': ${planned.files} files, ${formatBytes(planned.bytes)}; Dockerfile '${spec.dockerfile}'`)
      if (planned.bytes > ctx.settings.contextMaxBytes) {
        throw new BuildFailure(
          'CONTEXT_TOO_LARGE',
          `The context holds ${formatBytes(planned.bytes)}, more than the ${formatBytes(ctx.settings.contextMaxBytes)} this server sends (SLIPWAY_CONTEXT_MAX_BYTES). ` +
            'A .dockerignore that leaves out what the image does not need (dependencies, build output, data) makes it smaller.'
        )
      }
      return planned
    },
    variant
  )

  // An upload has neither a repository nor a commit to name.
  const labels = {
    ...request.labels,
    ...(request.repo === null ? {} : { 'org.opencontainers.image.source': request.repo }),
    ...(source.commit === null ? {} : { 'org.opencontainers.image.revision': source.commit })
  }
  const network = buildNetworkOf(request.network, ctx.settings.network)
  const { builder, built } = await progress.run(
    'build',
    async () => {
      await checkBuildNetwork(ctx.docker, network)
      const { builder, why } = await chooseBuilder(ctx.docker, request.builder, ctx.settings.builder, { dockerfileCopied: plan.dockerfileCopied, network })
      await ctx.record.update({ builder })
      logTo('build')('system', `Building with ${builder === 'buildkit' ? 'BuildKit' : 'the classic builder'}${why ? ` (${why})` : ''}`)
      if (network === 'none') logTo('build')('system', 'RUN steps have no network (network: none): nothing they start can reach a host')
      try {
        const built = await buildImage({
          docker: ctx.docker,
          builder,
          context: packContext(plan, source.tree, source.time, signal),
          dockerfile: plan.dockerfile,
          tags: spec.tags,
          buildArgs: spec.buildArgs,
          labels,
          target: spec.target,
          noCache: request.noCache,
          limits: ctx.settings.build,
          network,
          registryAuth: ctx.credentials.forBuild,
          pullBaseImages: ctx.settings.baseImagePull === 'always',
          signal,
          log: logTo('build'),
          onSteps: (steps) => progress.steps(steps),
          drain: () => ctx.log.drain()
        })
        return { builder, built }
      } finally {
        await progress.settle()
      }
    },
    variant
  )

  const warnings: string[] = []
  const { insight, budget } = await progress.run(
    'inspect',
    async () => {
      const insight = await imageInsight({
        docker: ctx.docker,
        imageId: built.imageId,
        builder,
        dockerfile: plan.dockerfileText,
        target: spec.target,
        buildArgs: spec.buildArgs,
        // The classic builder records each label given through the API as a LABEL step of its own.
        labelCount: builder === 'classic' ? Object.keys(labels).length : 0,
        context: { hasDockerignore: plan.root.hasDockerignore, rootNames: plan.root.names }
      })
      const budget = budgetOf(insight.sizeBytes, request.maxImageBytes, request.budgetMode)
      if (budget?.exceeded) {
        const over = `The image is ${formatBytes(insight.sizeBytes)}, over its budget of ${formatBytes(budget.maxBytes)}${variant ? ` (variant ${variant})` : ''}`
        if (budget.mode === 'fail') {
          const largest = insight.findings[0] ? ` Largest finding: ${insight.findings[0].message}` : ''
          throw new BuildFailure('IMAGE_TOO_LARGE', `${over}; it was not pushed.${largest}`)
        }
        warnings.push(`${over}.`)
      }
      return { insight, budget }
    },
    variant
  )

  // Reading every layer for files deleted later is the slow part of measuring: it runs while the
  // image is pushed, and its finding joins the others afterwards.
  const scanning = deletedFilesFinding({
    docker: ctx.docker,
    imageId: built.imageId,
    sizeBytes: insight.sizeBytes,
    layers: insight.layers,
    cache: redisScanCache(ctx.redis, ctx.keys)
  }).catch((error: unknown) => {
    logTo('inspect')('system', `Could not read the image's layers to look for files deleted later: ${(error as Error).message}`)
    return null
  })
  let digest: string | null = null
  try {
    digest = await pushTags(spec, ctx, variant)
  } finally {
    const deleted = await scanning
    if (deleted) insight.findings = byBytes([...insight.findings, deleted])
  }
  return {
    image: { id: built.imageId, repository: request.image, tags: spec.tags, pushed: request.push, digest, sizeDelta: null, budget, ...insight },
    warnings
  }
}

/** Pushes every tag when the request asks for it; the digest the registry took, or null. */
async function pushTags (spec: BuildSpec, ctx: PipelineContext, variant: string | undefined): Promise<string | null> {
  const { request } = ctx.build
  if (!request.push) {
    ctx.progress.skip('push', variant)
    return null
  }
  const pushed = await ctx.progress.run(
    'push',
    () =>
      pushImage({
        docker: ctx.docker,
        repository: request.image,
        registry: ctx.credentials.registry,
        tags: spec.tags.map((tag) => tag.slice(request.image.length + 1)),
        auth: ctx.credentials.forPush,
        signal: ctx.signal,
        log: (stream, text) => ctx.log.write('push', stream, text)
      }),
    variant
  )
  return pushed.digest
}

function budgetOf (sizeBytes: number, maxBytes: number | null, mode: Budget['mode']): Budget | null {
  return maxBytes === null ? null : { maxBytes, mode, exceeded: sizeBytes > maxBytes }
}
