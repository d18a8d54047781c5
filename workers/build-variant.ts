import { createHash } from 'node:crypto'
import type { LogStreamName } from '../src/storage/build-log.js'
import { cacheLines } from '../src/domain/build-summary.js'
import { formatBytes } from '../src/domain/format.js'
import type { BaseImage, Builder, Image, PhaseName } from '../src/domain/schemas/build.js'
import type { Budget, Finding } from '../src/domain/schemas/insight.js'
import { buildNetworkOf } from '../src/domain/builds/build-network.js'
import { parseDockerfile, type ParsedDockerfile } from '../src/domain/insight/dockerfile-stages.js'
import { dockerfileFacts, stepLocator, type DockerfileFacts } from '../src/domain/insight/step-facts.js'
import { BuildFailure } from '../src/domain/builds/build-failure.js'
import { contextFiles, packContext, planContext, type ContextPlan } from '../src/build-context/context.js'
import { baseImagesOf, orderedBases } from './docker/base-images.js'
import { checkBuildNetwork } from './docker/build-network.js'
import { chooseBuilder } from './docker/builder.js'
import { removeTags } from './docker/host-cleanup.js'
import { startCacheExplanation, type CacheExplanation } from './insight/cache-misses.js'
import { byBytes, deletedFilesFinding, imageInsight, type ImageInsight } from './insight/image-insight.js'
import type { BuildCredentials, PipelineContext, PipelineSettings } from './pipeline-context.js'
import { buildImage, type ImageBuildInput } from './phases/image-build.js'
import type { CacheImportResult } from './docker/progress.js'
import { planRegistryCache, registryCacheRecord, type CacheSource } from './registry-cache.js'
import { pushImage } from './phases/push.js'
import { attachToImage } from './phases/attest.js'
import { registryClient } from './registry/registry-client.js'
import { talksPlainHttp } from './docker/insecure-registries.js'
import { toResource } from '../src/domain/builds/build-resource.js'
import { splitImageName } from '../src/domain/builds/image-ref.js'
import { imageStatements } from '../src/domain/supply-chain/statements.js'
import type { SigningKey } from '../src/domain/supply-chain/signing-key.js'
import { listPackages, type PackageListing } from './insight/package-listing.js'
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
  /** The previous pushed build's image, to import registry cache from; none for variants. */
  previousCache?: CacheSource | null
}

export interface BuiltImage {
  image: Image
  warnings: string[]
}

/** What building one variant takes of the pipeline context: its phases' slices together. */
export type VariantNeeds = ContextPhaseNeeds & BuildPhaseNeeds & InspectPhaseNeeds & ScanNeeds & PackageNeeds & PushPhaseNeeds & AttestNeeds

/**
 * context → build → inspect → push (→ attest) for one spec, from the source's files. The image is measured
 * before it is pushed, so one over a `fail` budget never reaches the registry.
 */
export async function buildVariant (spec: BuildSpec, source: Source, ctx: VariantNeeds): Promise<BuiltImage> {
  const { request } = ctx.build
  const { progress } = ctx
  const variant = spec.name ?? undefined
  const plan = await progress.run('context', () => contextPhase(spec, source, ctx), variant)
  const labels = labelsOf(request, source)
  // Read once: the build locates and explains its steps with it, the inspection maps layers to it.
  const dockerfile = parseDockerfile(plan.dockerfileText, spec.buildArgs)
  const built = await progress.run('build', () => buildPhase(plan, spec, source, { labels, dockerfile }, ctx), variant)
  // The engine keeps the image's tags only for a build that succeeds without pushing: they are
  // where its image is. A pushed image is in the registry; a failed build's image is nobody's.
  let keepTags = false
  // Once pushed and read, the image's tags go while the attest phase talks to the registry.
  let untagging: Promise<unknown> | null = null
  try {
    const { insight, budget, warnings } = await progress.run('inspect', () => inspectPhase(built, plan, spec, { labels, dockerfile }, ctx), variant)

    // Reading every layer for files deleted later, and for the packages, is the slow part of
    // measuring: it runs while the image is pushed, and its results join the others afterwards.
    const scanning = scanForDeletedFiles(built.imageId, insight, ctx)
    const listing = spec.name === null ? packagesOf(built.imageId, insight, ctx) : null
    let digest: string | null = null
    let packages: PackageListing | null = null
    try {
      if (request.push) digest = await progress.run('push', () => pushPhase(spec, ctx), variant)
      else progress.skip('push', variant)
    } finally {
      const deleted = await scanning
      if (deleted) insight.findings = byBytes([...insight.findings, deleted])
      packages = await listing
    }
    keepTags = !request.push
    // Reading the image by its id is over: removing its last tag may remove its record.
    if (!keepTags) untagging = removeTags(ctx.docker, spec.tags, built.imageId)
    const image: Image = { id: built.imageId, repository: request.image, tags: spec.tags, pushed: request.push, digest, sizeDelta: null, budget, ...insight }
    // Kept in Redis while the attest phase works from the listing itself.
    const [, attestWarnings] = await Promise.all([keepPackages(packages, ctx), attestIfPushed(image, packages, spec, ctx)])
    return { image, warnings: [...warnings, ...attestWarnings] }
  } finally {
    if (untagging) await untagging
    else if (!keepTags) await removeTags(ctx.docker, spec.tags, built.imageId)
  }
}

/** Signs and describes the pushed image in the registry: its warnings (none when it went well). A build with variants pushes one image per variant, and describes none of them. */
async function attestIfPushed (image: Image, packages: PackageListing | null, spec: BuildSpec, ctx: AttestNeeds): Promise<string[]> {
  if (image.digest === null || spec.name !== null) return []
  const attaching = attestPlan(ctx)
  if (!attaching) {
    ctx.progress.skip('attest')
    return []
  }
  return ctx.progress.run('attest', () => attestPhase(image, packages, attaching, ctx))
}

const logTo = (ctx: Pick<PipelineContext, 'log'>, phase: PhaseName) => (stream: LogStreamName, text: string) => ctx.log.write(phase, stream, text)

/** The context phase: what the build sends, held to the server's limit. */
type ContextPhaseNeeds = Pick<PipelineContext, 'build' | 'log' | 'signal'> & { settings: Pick<PipelineSettings, 'contextMaxBytes'> }

async function contextPhase (spec: BuildSpec, source: Source, ctx: ContextPhaseNeeds): Promise<ContextPlan> {
  const { request } = ctx.build
  const maxBytes = ctx.settings.contextMaxBytes
  const planned = await planContext({ tree: source.tree, context: request.context, dockerfile: spec.dockerfile, keepGitDir: request.keepGitDir, signal: ctx.signal })
  logTo(ctx, 'context')('system', `Context '${request.context}': ${planned.files} files, ${formatBytes(planned.bytes)}; Dockerfile '${spec.dockerfile}'`)
  if (planned.bytes > maxBytes) {
    throw new BuildFailure(
      'CONTEXT_TOO_LARGE',
      `The context holds ${formatBytes(planned.bytes)}, more than the ${formatBytes(maxBytes)} this server sends (SLIPWAY_CONTEXT_MAX_BYTES). ` +
        'A .dockerignore that leaves out what the image does not need (dependencies, build output, data) makes it smaller.'
    )
  }
  return planned
}

/** The request's labels, and what the image was built from: an upload has neither a repository nor a commit to name. */
function labelsOf (request: PipelineContext['build']['request'], source: Source): Record<string, string> {
  return {
    ...request.labels,
    ...(request.repo === null ? {} : { 'org.opencontainers.image.source': request.repo }),
    ...(source.commit === null ? {} : { 'org.opencontainers.image.revision': source.commit })
  }
}

interface Built {
  builder: Builder
  imageId: string
}

/** The build phase: the image, from the packed context, by the builder this build needs. */
type BuildPhaseNeeds = Pick<PipelineContext, 'build' | 'docker' | 'engine' | 'record' | 'progress' | 'log' | 'signal' | 'cacheFacts'> & {
  settings: Pick<PipelineSettings, 'builder' | 'network' | 'build' | 'baseImagePull' | 'registryCache'>
  credentials: Pick<BuildCredentials, 'forBuild' | 'buildSecrets'>
}

/** What the variant runner has worked out before its build and inspect phases. */
interface VariantInputs {
  labels: Record<string, string>
  dockerfile: ParsedDockerfile
}

async function buildPhase (plan: ContextPlan, spec: BuildSpec, source: Source, { labels, dockerfile }: VariantInputs, ctx: BuildPhaseNeeds): Promise<Built> {
  const { request } = ctx.build
  const network = buildNetworkOf(request.network, ctx.settings.network)
  const builder = await builderFor(plan, network, ctx)
  const buildSecrets = secretsFor(builder, ctx.credentials.buildSecrets)
  const cachePlan = planRegistryCache(
    { builder, request, setting: ctx.settings.registryCache, previous: spec.previousCache ?? null },
    (text) => logTo(ctx, 'build')('system', text)
  )
  const cacheImports: CacheImportResult[] = []
  const facts = dockerfileFacts(dockerfile)
  // A build with variants has one set of steps per variant, and no one lineage to compare with.
  const explanation = spec.name === null ? startExplaining(plan, spec, source, facts, ctx) : null
  let succeeded = false
  try {
    const { imageId } = await buildImage({
      docker: ctx.docker,
      builder,
      context: contextOf(plan, source, ctx),
      dockerfile: plan.dockerfile,
      tags: spec.tags,
      buildArgs: spec.buildArgs,
      labels,
      target: spec.target,
      noCache: request.noCache,
      limits: ctx.settings.build,
      network,
      registryAuth: ctx.credentials.forBuild,
      ...(buildSecrets ? { buildSecrets } : {}),
      pullBaseImages: ctx.settings.baseImagePull === 'always',
      ...(cachePlan ? { registryCache: { inline: cachePlan.inline, importFrom: cachePlan.sources.map((source) => source.reference) } } : {}),
      onCacheImport: (result) => cacheImports.push(result),
      signal: ctx.signal,
      log: logTo(ctx, 'build'),
      locateStep: stepLocator(facts, builder),
      onSteps: (steps) => ctx.progress.steps(steps),
      drain: () => ctx.log.drain()
    })
    succeeded = true
    return { builder, imageId }
  } finally {
    const registryCache = cachePlan && registryCacheRecord(cachePlan, cacheImports)
    const explaining = explanation !== null && !ctx.signal.aborted
    // What the provenance statement names as the build's base images (a build with variants has one
    // per variant: none kept); the explanation compares their ids. Asked of the engine once for both.
    const keepBases = succeeded && spec.name === null
    const bases = explaining || keepBases ? await baseImagesOf(ctx.docker, facts) : new Map<string, BaseImage>()
    if (keepBases) await ctx.record.update({ baseImages: orderedBases(bases, dockerfile, spec.target) })
    if (explaining) {
      const imports = (registryCache?.imports ?? []).map((entry) => ({ reference: entry.reference, imported: entry.outcome === 'imported' }))
      await explainSteps(explanation, { keep: succeeded, registryImports: imports, bases }, ctx)
    }
    await ctx.progress.settle()
    if (registryCache) await ctx.record.update({ registryCache })
  }
}

/**
 * The context both ways a builder takes it, and the key BuildKit keeps it under on an engine:
 * builds of one repository and context folder share it, so each is sent only the files that
 * changed since the last one there. That takes knowing each file's content without reading it
 * (session-files.ts); a context without (an upload, a checkout on disk) has a key of its own.
 */
function contextOf (plan: ContextPlan, source: Source, ctx: BuildPhaseNeeds): ImageBuildInput['context'] {
  const folder = contextFiles(plan, source.tree, source.time)
  const { request } = ctx.build
  const lineage = folder.versioned ? `${request.repo ?? ''}\0${request.context}` : ctx.build.id
  return {
    tar: () => packContext(plan, source.tree, source.time, ctx.signal),
    folder,
    key: createHash('sha256').update(lineage).digest('hex').slice(0, 32)
  }
}

/** The secrets to mount, none when the build names none; only BuildKit can mount them. */
function secretsFor (builder: Builder, buildSecrets: BuildCredentials['buildSecrets']): BuildCredentials['buildSecrets'] | undefined {
  const ids = [...Object.keys(buildSecrets.secrets), ...Object.keys(buildSecrets.ssh)]
  if (ids.length === 0) return undefined
  if (builder === 'classic') {
    throw new BuildFailure('SECRETS_NEED_BUILDKIT', `The build names ${ids.join(', ')}, but it is built with the classic builder here, which cannot mount secrets or SSH keys; the log says why BuildKit was not used.`)
  }
  return buildSecrets
}

function startExplaining (plan: ContextPlan, spec: BuildSpec, source: Source, facts: DockerfileFacts, ctx: BuildPhaseNeeds): CacheExplanation {
  return startCacheExplanation({
    build: ctx.build,
    resolvedRef: source.resolvedRef,
    dockerfile: spec.dockerfile,
    target: spec.target,
    facts,
    plan,
    tree: source.tree,
    engine: ctx.engine,
    docker: ctx.docker,
    kept: ctx.cacheFacts,
    signal: ctx.signal
  })
}

/**
 * Says why each step that ran missed the cache, on the steps, in the record's `cache` and in the
 * log. An explanation that cannot be made is logged and the build goes on: it never fails a build.
 */
async function explainSteps (
  explanation: CacheExplanation,
  outcome: Parameters<CacheExplanation['finish']>[1],
  ctx: Pick<PipelineContext, 'build' | 'record' | 'progress' | 'log'>
): Promise<void> {
  try {
    const { steps, cache } = await explanation.finish(ctx.progress.stepsSoFar(), outcome)
    ctx.progress.steps(steps)
    await ctx.record.update({ cache })
    for (const line of cacheLines({ cache, request: ctx.build.request })) logTo(ctx, 'build')('system', line)
  } catch (error) {
    logTo(ctx, 'build')('system', `Could not work out why steps missed the cache: ${(error as Error).message}`)
  }
}

/** The builder for this build, on a network that is there, recorded and logged with why. */
async function builderFor (
  plan: ContextPlan,
  network: string,
  ctx: Pick<PipelineContext, 'build' | 'docker' | 'record' | 'log'> & { settings: Pick<PipelineSettings, 'builder'> }
): Promise<Builder> {
  const log = logTo(ctx, 'build')
  await checkBuildNetwork(ctx.docker, network)
  const { builder, why } = await chooseBuilder(ctx.docker, ctx.build.request.builder, ctx.settings.builder, { dockerfileCopied: plan.dockerfileCopied, network })
  await ctx.record.update({ builder })
  log('system', `Building with ${builder === 'buildkit' ? 'BuildKit' : 'the classic builder'}${why ? ` (${why})` : ''}`)
  if (network === 'none') log('system', 'RUN steps have no network (network: none): nothing they start can reach a host')
  return builder
}

/** The inspect phase: where the image's bytes are, against its budget. */
type InspectPhaseNeeds = Pick<PipelineContext, 'build' | 'docker'>

async function inspectPhase (built: Built, plan: ContextPlan, spec: BuildSpec, { labels, dockerfile }: VariantInputs, ctx: InspectPhaseNeeds) {
  const { request } = ctx.build
  const { builder } = built
  const insight = await imageInsight({
    docker: ctx.docker,
    imageId: built.imageId,
    builder,
    dockerfile,
    target: spec.target,
    // The classic builder records each label given through the API as a LABEL step of its own.
    labelCount: builder === 'classic' ? Object.keys(labels).length : 0,
    context: { hasDockerignore: plan.root.hasDockerignore, rootNames: plan.root.names }
  })
  const warnings: string[] = []
  const budget = budgetOf(insight.sizeBytes, request.maxImageBytes, request.budgetMode)
  if (budget?.exceeded) {
    const over = `The image is ${formatBytes(insight.sizeBytes)}, over its budget of ${formatBytes(budget.maxBytes)}${spec.name ? ` (variant ${spec.name})` : ''}`
    if (budget.mode === 'fail') {
      const largest = insight.findings[0] ? ` Largest finding: ${insight.findings[0].message}` : ''
      throw new BuildFailure('IMAGE_TOO_LARGE', `${over}; it was not pushed.${largest}`)
    }
    warnings.push(`${over}.`)
  }
  return { insight, budget, warnings }
}

function budgetOf (sizeBytes: number, maxBytes: number | null, mode: Budget['mode']): Budget | null {
  return maxBytes === null ? null : { maxBytes, mode, exceeded: sizeBytes > maxBytes }
}

/** Reading the image's layers (once per image: the answer is kept) for files added and deleted later. */
type ScanNeeds = Pick<PipelineContext, 'docker' | 'imageScans' | 'log'>

/** The files-deleted-later finding; none when the layers could not be read (which the log says). */
function scanForDeletedFiles (imageId: string, insight: ImageInsight, ctx: ScanNeeds): Promise<Finding | null> {
  return deletedFilesFinding({
    docker: ctx.docker,
    imageId,
    sizeBytes: insight.sizeBytes,
    layers: insight.layers,
    cache: ctx.imageScans
  }).catch((error: unknown) => {
    logTo(ctx, 'inspect')('system', `Could not read the image's layers to look for files deleted later: ${(error as Error).message}`)
    return null
  })
}

/** Listing the image's packages for its SBOM (a build with variants lists none). */
type PackageNeeds = Pick<PipelineContext, 'build' | 'docker' | 'log' | 'record' | 'buildPackages'> & { settings: Pick<PipelineSettings, 'sbom'> }

/** The image's packages, when the request asks and the server lets it; why not, in the log. */
function packagesOf (imageId: string, insight: ImageInsight, ctx: PackageNeeds): Promise<PackageListing | null> | null {
  const log = (text: string) => logTo(ctx, 'inspect')('system', text)
  if (!ctx.build.request.sbom) return null
  if (ctx.settings.sbom === 'off') {
    log("The image's packages are not listed (no SBOM): this server lists none (SLIPWAY_SBOM=off)")
    return null
  }
  return listPackages({ docker: ctx.docker, imageId, sizeBytes: insight.sizeBytes, log })
}

/** Keeps the list for /v1/builds/{id}/sbom, and its count on the build. */
async function keepPackages (listing: PackageListing | null, ctx: PackageNeeds): Promise<void> {
  if (!listing) return
  await ctx.buildPackages.set(ctx.build.id, listing.packages)
  await ctx.record.update({ packages: listing.summary })
}

/** Signing the pushed image and attaching its statements in the registry. */
type AttestNeeds = Pick<PipelineContext, 'build' | 'docker' | 'store' | 'log' | 'record' | 'progress' | 'signal'> & {
  settings: Pick<PipelineSettings, 'provenance' | 'signingKey' | 'installation'>
  credentials: Pick<BuildCredentials, 'forPush'>
}

/** What the attest phase does for this build; null when it has nothing to do (and the log says why). */
function attestPlan (ctx: AttestNeeds): { provenance: boolean; key: SigningKey | null } | null {
  const { request } = ctx.build
  const log = (text: string) => logTo(ctx, 'attest')('system', text)
  const key = request.sign ? ctx.settings.signingKey : null
  if (!request.sign) log('The image is not signed: the request asked for no signature (sign: false)')
  else if (!key) log('The image is not signed: this server has no signing key (SLIPWAY_SIGNING_KEY)')
  const provenance = request.provenance && ctx.settings.provenance === 'on'
  return key || provenance || request.sbom ? { provenance, key } : null
}

/**
 * Signs the image and attaches its provenance and SBOM beside it in the registry. The image is
 * pushed already: a registry that refuses what follows leaves the build succeeded, with a warning.
 */
async function attestPhase (image: Image, listing: PackageListing | null, plan: { provenance: boolean; key: SigningKey | null }, ctx: AttestNeeds): Promise<string[]> {
  const log = (text: string) => logTo(ctx, 'attest')('system', text)
  // The provenance names when the push ended: the record must have it.
  await ctx.progress.settle()
  const record = await ctx.store.get(ctx.build.id)
  if (!record) return []
  const statements = imageStatements({ ...toResource(record), image }, { provenance: plan.provenance, packages: listing?.packages ?? null, installation: ctx.settings.installation })
  const { registry, path } = splitImageName(image.repository)
  try {
    const attached = await attachToImage({
      registry: registryClient({ host: registry, path, auth: ctx.credentials.forPush, insecure: await talksPlainHttp(ctx.docker, registry), signal: ctx.signal }),
      repository: image.repository,
      digest: image.digest!,
      statements,
      key: plan.key,
      log
    })
    await ctx.record.update(attached)
    return []
  } catch (error) {
    if (ctx.signal.aborted) throw error
    const message = `The image was pushed, but its ${plan.key ? 'signature and ' : ''}attestations could not be attached: ${(error as Error).message}`
    log(message)
    return [message]
  }
}

/** The push phase: every tag, to the registry the image is named for. */
type PushPhaseNeeds = Pick<PipelineContext, 'build' | 'docker' | 'log' | 'signal'> & { credentials: Pick<BuildCredentials, 'registry' | 'forPush'> }

/** Pushes every tag; the digest the registry took. */
async function pushPhase (spec: BuildSpec, ctx: PushPhaseNeeds): Promise<string> {
  const { request } = ctx.build
  const pushed = await pushImage({
    docker: ctx.docker,
    repository: request.image,
    registry: ctx.credentials.registry,
    tags: spec.tags.map((tag) => tag.slice(request.image.length + 1)),
    auth: ctx.credentials.forPush,
    signal: ctx.signal,
    log: logTo(ctx, 'push')
  })
  return pushed.digest
}
