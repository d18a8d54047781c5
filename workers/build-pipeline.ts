import path from 'node:path'
import type Docker from 'dockerode'
import type { Redis } from 'ioredis'
import type { LogWriter } from '../src/storage/build-log.js'
import type { BuildStore } from '../src/storage/build-store.js'
import type { RedisKeys } from '../src/storage/keys.js'
import type { RepoPolicy } from '../src/domain/builds/repo-url.js'
import type { Config } from '../src/domain/config.js'
import { formatBytes } from '../src/domain/format.js'
import { MAX_UPLOAD_ENTRIES } from '../src/domain/uploads/safe-tar.js'
import { sizeDelta } from '../src/domain/insight/size-delta.js'
import type { BuildRecord, Builder, Image } from '../src/domain/schemas/build.js'
import type { VariantResult } from '../src/domain/schemas/insight.js'
import { BuildFailure } from '../src/domain/builds/build-failure.js'
import type { AttemptRecord, BuildProgress } from './build-progress.js'
import { buildVariant, type BuiltImage } from './build-variant.js'
import type { RegistryAuth, RegistryAuthMap } from './docker/registry-auth.js'
import type { GitAuth } from './source/git-credentials.js'
import type { CloneLimits } from './source/clone-limits.js'
import type { BuildLimits } from './phases/image-build.js'
import { buildFingerprint, findReusable } from './reuse.js'
import { checkOutSource } from './source/check-out.js'
import type { Source } from './source/source.js'
import { unpackUpload } from './source/upload-tree.js'
import type { MirrorCache } from './source/git-mirror.js'

export interface PipelineContext {
  build: BuildRecord
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
  /** This worker host's mirrors of the repositories it builds. */
  mirrors: MirrorCache
  credentials: { forBuild: RegistryAuthMap; forPush: RegistryAuth | undefined; registry: string; git: GitAuth }
  settings: {
    repoPolicy: RepoPolicy
    builder: Builder | 'auto'
    /** SLIPWAY_BUILD_NETWORK: what RUN steps run on unless a request narrows it to none. */
    network: string
    clone: CloneLimits
    contextMaxBytes: number
    build: BuildLimits
    baseImagePull: Config['baseImagePull']
  }
}

export interface PipelineResult {
  image: Image
  /** The identical earlier build whose image was reused instead of building, if any. */
  reusedFrom: string | null
  /** What identical builds share, for later ones to find this one; none for builds with variants. */
  fingerprint: string | null
  warnings: string[]
}

/**
 * clone (or unpack, for an upload), then context → build → inspect → push for the request (or for
 * each of its variants), each phase timed, all sharing the one signal. A build identical to an
 * earlier one whose image is still there reuses it instead (unless asked to `force` or
 * `noCache`); with a full commit SHA, or an upload's sha256, that is known before fetching.
 */
export async function runPipeline (build: BuildRecord, ctx: PipelineContext): Promise<PipelineResult> {
  const { request } = build
  const known = request.source?.sha256 ?? (request.ref !== null && /^[0-9a-f]{40}$/.test(request.ref) ? request.ref : null)
  if (known) {
    const reused = await reuseEarlier(build, known, ctx)
    if (reused) {
      ctx.progress.skip(request.source ? 'unpack' : 'clone')
      if (!request.source) await ctx.record.update({ commit: known, resolvedRef: null })
      return reused
    }
  }
  const source = await fetchSource(build, ctx)
  try {
    if (source.commit) await ctx.record.update({ commit: source.commit, resolvedRef: source.resolvedRef })
    const reused = known ? null : await reuseEarlier(build, source.revision, ctx)
    if (reused) return reused
    const tags = tagsAt(request, source.revision)
    if (request.variants.length > 0) return await buildVariants(build, source, tags, ctx)
    const { image, warnings } = await buildVariant({ name: null, dockerfile: request.dockerfile, target: request.target, buildArgs: request.buildArgs, tags }, source, ctx)
    const previous = await previousBuild(ctx.store, build, source.resolvedRef)
    image.sizeDelta = previous?.image ? sizeDelta(image, { id: previous.id, image: previous.image }) : null
    return { image, reusedFrom: null, fingerprint: buildFingerprint(request, source.revision, tags), warnings }
  } finally {
    await source.release()
  }
}

/** The files to build: the uploaded tar, unpacked; or the commit, from the repository. */
function fetchSource (build: BuildRecord, ctx: PipelineContext): Promise<Source> {
  const { request } = build
  const upload = request.source
  if (upload) {
    return ctx.progress.run('unpack', () =>
      unpackUpload({
        redis: ctx.redis,
        key: ctx.keys.upload(build.id),
        source: upload,
        dir: path.join(ctx.workspace, 'upload'),
        // An upload unpacks under the limit a clone grows under.
        limits: { maxUnpackedBytes: ctx.settings.clone.maxBytes, maxEntries: MAX_UPLOAD_ENTRIES },
        signal: ctx.signal,
        log: (stream, text) => ctx.log.write('unpack', stream, text)
      })
    )
  }
  return ctx.progress.run('clone', () =>
    checkOutSource({
      // A build without an upload has a repository (normalizeBuildRequest).
      request: { ...request, repo: request.repo! },
      // The workspace is named by build and attempt: so is its hold on the mirror.
      holder: path.basename(ctx.workspace),
      mirrors: ctx.mirrors,
      workspace: ctx.workspace,
      policy: ctx.settings.repoPolicy,
      limits: ctx.settings.clone,
      git: ctx.credentials.git,
      signal: ctx.signal,
      log: (stream, text) => ctx.log.write('clone', stream, text)
    })
  )
}

function tagsAt (request: BuildRecord['request'], revision: string): string[] {
  return (request.tags ?? [revision.slice(0, 12)]).map((tag) => `${request.image}:${tag}`)
}

/** The result of an identical earlier build whose image is still there, with every phase after the clone skipped. */
async function reuseEarlier (build: BuildRecord, revision: string, ctx: PipelineContext): Promise<PipelineResult | null> {
  const { request } = build
  if (request.variants.length > 0 || request.force || request.noCache) return null
  const fingerprint = buildFingerprint(request, revision, tagsAt(request, revision))
  const earlier = await findReusable(ctx, fingerprint, ctx.credentials.forPush)
  if (!earlier?.image) return null
  const what = `${request.source ? 'upload' : 'commit'} ${revision.slice(0, 12)}`
  ctx.log.write('', 'system', `==> identical to build ${earlier.id} (${what}, same options), whose image is still there: reusing it. Ask for force: true to build again.`)
  for (const phase of ['context', 'build', 'inspect', 'push'] as const) ctx.progress.skip(phase)
  // Nothing ran: the timeline is the earlier build's, every step served as if from the cache.
  ctx.progress.steps(earlier.steps.map((step) => ({ ...step, status: 'succeeded', cached: true, startedAt: null, durationMs: 0 })))
  await ctx.progress.settle()
  return { image: earlier.image, reusedFrom: earlier.id, fingerprint, warnings: earlier.warnings }
}

/**
 * Every variant of the same commit, one after another, each row of the comparison saved as it
 * ends. A variant that fails does not stop the others; the build fails after them all.
 */
async function buildVariants (build: BuildRecord, source: Source, tags: string[], ctx: PipelineContext): Promise<PipelineResult> {
  const { request } = build
  const rows: VariantResult[] = []
  const built: BuiltImage[] = []
  let firstFailure: BuildFailure | undefined
  for (const variant of request.variants) {
    const spec = { ...variant, tags: tags.map((tag) => `${tag}-${variant.name}`) }
    const started = Date.now()
    const row = { name: spec.name, dockerfile: spec.dockerfile, target: spec.target, buildArgs: spec.buildArgs }
    try {
      const result = await buildVariant(spec, source, ctx)
      built.push(result)
      const { image } = result
      rows.push({
        ...row,
        status: 'succeeded',
        sizeBytes: image.sizeBytes,
        baseBytes: image.baseBytes,
        addedBytes: image.addedBytes,
        layerCount: image.layers.filter((layer) => layer.sizeBytes > 0).length,
        durationMs: Date.now() - started,
        tags: image.tags,
        digest: image.digest,
        findings: image.findings.length,
        error: null
      })
    } catch (error) {
      if (!(error instanceof BuildFailure)) throw error
      firstFailure ??= new BuildFailure(error.code, `Variant ${spec.name}: ${error.message}`, error.details)
      const base = { sizeBytes: null, baseBytes: null, addedBytes: null, layerCount: null, tags: [], digest: null, findings: 0 }
      rows.push({ ...row, ...base, status: 'failed', durationMs: Date.now() - started, error: { code: error.code, message: error.message } })
    }
    await ctx.record.update({ variants: rows })
  }
  ctx.log.write('', 'system', comparisonTable(rows))
  if (firstFailure) throw firstFailure
  return { image: built[0]!.image, reusedFrom: null, fingerprint: null, warnings: built.flatMap((result) => result.warnings) }
}

/** The variants side by side, as `docker images` would list them. */
function comparisonTable (rows: VariantResult[]): string {
  const lines = rows.map((row) =>
    [row.name.padEnd(16), row.status.padEnd(10), (row.sizeBytes === null ? '-' : formatBytes(row.sizeBytes)).padStart(10), `${(row.durationMs / 1000).toFixed(1)} s`.padStart(9)].join(' ')
  )
  return ['==> variants compared', `${'VARIANT'.padEnd(16)} ${'STATUS'.padEnd(10)} ${'SIZE'.padStart(10)} ${'TIME'.padStart(9)}`, ...lines].join('\n')
}

/** The previous succeeded build of the same repository, ref, Dockerfile and target, for the size delta; none for an upload. */
async function previousBuild (store: BuildStore, build: BuildRecord, resolvedRef: string | null): Promise<BuildRecord | undefined> {
  if (build.request.repo === null) return undefined
  const refOf = (record: BuildRecord, resolved: string | null) => resolved ?? record.request.ref
  const { items } = await store.list({ repo: build.request.repo, status: 'succeeded', limit: 50 })
  return items.find(
    (earlier) =>
      earlier.id < build.id &&
      earlier.image !== null &&
      earlier.request.variants.length === 0 &&
      refOf(earlier, earlier.resolvedRef) === refOf(build, resolvedRef) &&
      earlier.request.dockerfile === build.request.dockerfile &&
      earlier.request.target === build.request.target
  )
}
