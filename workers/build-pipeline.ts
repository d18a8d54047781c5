import path from 'node:path'
import { formatBytes, formatDuration } from '../src/domain/format.js'
import { MAX_UPLOAD_ENTRIES } from '../src/domain/uploads/safe-tar.js'
import { sizeDelta } from '../src/domain/insight/size-delta.js'
import type { BuildRecord, Image, UploadSource } from '../src/domain/schemas/build.js'
import type { VariantResult } from '../src/domain/schemas/insight.js'
import { BuildFailure } from '../src/domain/builds/build-failure.js'
import type { BuildStore } from '../src/storage/build-store.js'
import { buildVariant, type BuildSpec, type BuiltImage, type VariantNeeds } from './build-variant.js'
import type { BuildCredentials, PipelineContext, PipelineSettings } from './pipeline-context.js'
import type { CacheSource } from './registry-cache.js'
import { buildFingerprint, findReusable } from './reuse.js'
import { checkOutSource } from './source/check-out.js'
import type { Source } from './source/source.js'
import { unpackUpload } from './source/upload-tree.js'

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
export async function runPipeline (ctx: PipelineContext): Promise<PipelineResult> {
  const { request } = ctx.build
  const known = request.source?.sha256 ?? (request.ref !== null && /^[0-9a-f]{40}$/.test(request.ref) ? request.ref : null)
  if (known) {
    const reused = await reuseEarlier(known, ctx)
    if (reused) {
      ctx.progress.skip(request.source ? 'unpack' : 'clone')
      if (!request.source) await ctx.record.update({ commit: known, resolvedRef: eventRef(ctx.build) })
      return reused
    }
  }
  const fetched = await fetchSource(ctx)
  const source = { ...fetched, resolvedRef: fetched.resolvedRef ?? eventRef(ctx.build) }
  try {
    if (source.commit) await ctx.record.update({ commit: source.commit, resolvedRef: source.resolvedRef })
    const reused = known ? null : await reuseEarlier(source.revision, ctx)
    return reused ?? (await buildSource(source, ctx))
  } finally {
    // Letting go of the mirror takes two git processes and its lock: none of the build's business.
    ctx.afterEnd(() => source.release())
  }
}

/**
 * The ref a trigger's build of a commit SHA was for (refs/heads/main for a push, refs/pull/7/head
 * for a pull request): what the build continues, so that it is compared with the builds before
 * it on that branch or request as a build of the branch by name would be.
 */
function eventRef (build: BuildRecord): string | null {
  return build.createdBy?.kind === 'trigger' ? (build.createdBy.ref ?? null) : null
}

/** The files to build: the uploaded tar, unpacked; or the commit, from the repository. */
function fetchSource (ctx: UnpackNeeds & CloneNeeds & Pick<PipelineContext, 'progress'>): Promise<Source> {
  const upload = ctx.build.request.source
  return upload ? ctx.progress.run('unpack', () => unpackPhase(upload, ctx)) : ctx.progress.run('clone', () => clonePhase(ctx))
}

/** The unpack phase: the uploaded tar, from where the API stored it. */
type UnpackNeeds = Pick<PipelineContext, 'build' | 'uploads' | 'workspace' | 'log' | 'signal'> & { settings: Pick<PipelineSettings, 'clone'> }

function unpackPhase (upload: UploadSource, ctx: UnpackNeeds): Promise<Source> {
  return unpackUpload({
    uploads: ctx.uploads,
    buildId: ctx.build.id,
    source: upload,
    dir: path.join(ctx.workspace, 'upload'),
    // An upload unpacks under the limit a clone grows under.
    limits: { maxUnpackedBytes: ctx.settings.clone.maxBytes, maxEntries: MAX_UPLOAD_ENTRIES },
    signal: ctx.signal,
    log: (stream, text) => ctx.log.write('unpack', stream, text)
  })
}

/** The clone phase: the commit, from the repository. */
type CloneNeeds = Pick<PipelineContext, 'build' | 'mirrors' | 'workspace' | 'log' | 'signal'> & {
  settings: Pick<PipelineSettings, 'repoPolicy' | 'clone'>
  credentials: Pick<BuildCredentials, 'git'>
}

function clonePhase (ctx: CloneNeeds): Promise<Source> {
  const { request } = ctx.build
  return checkOutSource({
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
}

function tagsAt (request: BuildRecord['request'], revision: string): string[] {
  return (request.tags ?? [revision.slice(0, 12)]).map((tag) => `${request.image}:${tag}`)
}

/** Looking for an identical earlier build: its record, and whether its image is still where it left it. */
type ReuseNeeds = Pick<PipelineContext, 'build' | 'record' | 'store' | 'docker' | 'progress' | 'log' | 'buildPackages'> & {
  settings: Pick<PipelineSettings, 'sbom' | 'signingKey'>
  credentials: Pick<BuildCredentials, 'forPush'>
}

/** The result of an identical earlier build whose image is still there, with every phase after the clone skipped. */
async function reuseEarlier (revision: string, ctx: ReuseNeeds): Promise<PipelineResult | null> {
  const { request } = ctx.build
  if (request.variants.length > 0 || request.force || request.noCache) return null
  const fingerprint = buildFingerprint(request, revision, tagsAt(request, revision))
  const earlier = await findReusable(ctx, fingerprint, ctx.credentials.forPush)
  if (!earlier?.image) return null
  // A build that asks for an SBOM reuses only an image whose packages were listed.
  if (request.sbom && ctx.settings.sbom === 'on' && !earlier.packages) return null
  // And one that would be signed only an image that was: it carries the earlier build's signature and attestations.
  if (request.sign && ctx.settings.signingKey && !earlier.signature) return null
  const what = `${request.source ? 'upload' : 'commit'} ${revision.slice(0, 12)}`
  ctx.log.write('', 'system', `==> identical to build ${earlier.id} (${what}, same options), whose image is still there: reusing it. Ask for force: true to build again.`)
  for (const phase of ['context', 'build', 'inspect', 'push', ...(request.push ? (['attest'] as const) : [])] as const) ctx.progress.skip(phase)
  // Nothing ran: the timeline is the earlier build's, every step served as if from the cache.
  ctx.progress.steps(earlier.steps.map(({ cacheMiss: _ran, ...step }) => ({ ...step, status: 'succeeded', cached: true, startedAt: null, durationMs: 0 })))
  const counted = earlier.cache?.steps ?? 0
  await ctx.record.update({
    cache: earlier.cache && { comparedWith: earlier.id, steps: counted, cached: counted, hitRate: counted === 0 ? null : 1, firstMiss: null },
    // The same image from the same bases: what its provenance names is the earlier build's.
    baseImages: earlier.baseImages ?? null,
    packages: await reusePackages(earlier, ctx),
    // The same digest: what the registry holds beside it is the earlier build's.
    attestations: earlier.attestations ?? null,
    signature: earlier.signature ?? null
  })
  await ctx.progress.settle()
  return { image: earlier.image, reusedFrom: earlier.id, fingerprint, warnings: earlier.warnings }
}

/** The same image's packages, kept under this build's id too (the earlier build may expire first). */
async function reusePackages (earlier: BuildRecord, ctx: ReuseNeeds): Promise<BuildRecord['packages']> {
  if (!ctx.build.request.sbom) return null
  const packages = await ctx.buildPackages.get(earlier.id)
  if (packages === null) return null
  await ctx.buildPackages.set(ctx.build.id, packages)
  return earlier.packages
}

/** The request's image (or one per variant) built from the source, with its size against the previous build's. */
async function buildSource (source: Source, ctx: VariantNeeds & Pick<PipelineContext, 'store'>): Promise<PipelineResult> {
  const { request } = ctx.build
  const tags = tagsAt(request, source.revision)
  if (request.variants.length > 0) return buildVariants(source, tags, ctx)
  // Read while the image builds, not after its push: the registry cache comes from one of them
  // (that one is waited for), the size delta from the newest.
  const earlier = earlierBuilds(ctx.store, ctx.build, source.resolvedRef)
  // Awaited below; a build that fails first never asks, and its rejection is no one's to hear.
  earlier.catch(() => undefined)
  const previousCache = await previousCacheSource(ctx.build, earlier)
  const { image, warnings } = await buildVariant(
    { name: null, dockerfile: request.dockerfile, target: request.target, buildArgs: request.buildArgs, tags, previousCache },
    source,
    ctx
  )
  const previous = (await earlier)[0]
  image.sizeDelta = previous?.image ? sizeDelta(image, { id: previous.id, image: previous.image }) : null
  return { image, reusedFrom: null, fingerprint: buildFingerprint(request, source.revision, tags), warnings }
}

/**
 * Every variant of the same commit, one after another, each row of the comparison saved as it
 * ends. A variant that fails does not stop the others; the build fails after them all.
 */
async function buildVariants (source: Source, tags: string[], ctx: VariantNeeds): Promise<PipelineResult> {
  const rows: VariantResult[] = []
  const built: BuiltImage[] = []
  let firstFailure: BuildFailure | undefined
  for (const variant of ctx.build.request.variants) {
    const spec = { ...variant, tags: tags.map((tag) => `${tag}-${variant.name}`) }
    const started = Date.now()
    try {
      const result = await buildVariant(spec, source, ctx)
      built.push(result)
      rows.push(succeededRow(spec, result.image, Date.now() - started))
    } catch (error) {
      if (!(error instanceof BuildFailure)) throw error
      firstFailure ??= new BuildFailure(error.code, `Variant ${spec.name}: ${error.message}`, error.details)
      rows.push(failedRow(spec, error, Date.now() - started))
    }
    await ctx.record.update({ variants: rows })
  }
  ctx.log.write('', 'system', comparisonTable(rows))
  if (firstFailure) throw firstFailure
  return { image: built[0]!.image, reusedFrom: null, fingerprint: null, warnings: built.flatMap((result) => result.warnings) }
}

type VariantSpec = BuildSpec & { name: string }

function succeededRow (spec: VariantSpec, image: Image, durationMs: number): VariantResult {
  return {
    name: spec.name,
    dockerfile: spec.dockerfile,
    target: spec.target,
    buildArgs: spec.buildArgs,
    status: 'succeeded',
    sizeBytes: image.sizeBytes,
    baseBytes: image.baseBytes,
    addedBytes: image.addedBytes,
    layerCount: image.layers.filter((layer) => layer.sizeBytes > 0).length,
    durationMs,
    tags: image.tags,
    digest: image.digest,
    findings: image.findings.length,
    error: null
  }
}

function failedRow (spec: VariantSpec, error: BuildFailure, durationMs: number): VariantResult {
  const row = { name: spec.name, dockerfile: spec.dockerfile, target: spec.target, buildArgs: spec.buildArgs }
  const base = { sizeBytes: null, baseBytes: null, addedBytes: null, layerCount: null, tags: [], digest: null, findings: 0 }
  return { ...row, ...base, status: 'failed', durationMs, error: { code: error.code, message: error.message } }
}

/** The variants side by side, as `docker images` would list them; sizes and times rounded as everywhere else. */
function comparisonTable (rows: VariantResult[]): string {
  const lines = rows.map((row) =>
    [row.name.padEnd(16), row.status.padEnd(10), (row.sizeBytes === null ? '-' : formatBytes(row.sizeBytes)).padStart(10), formatDuration(row.durationMs).padStart(11)].join(' ')
  )
  return ['==> variants compared', `${'VARIANT'.padEnd(16)} ${'STATUS'.padEnd(10)} ${'SIZE'.padStart(10)} ${'TIME'.padStart(11)}`, ...lines].join('\n')
}

/**
 * The image of the previous build of the same repository, ref, Dockerfile and target to import
 * registry cache from: one that exported cache, pushed to the same image repository as this
 * build pushes to. Only a pushed build's image was held to its sender's push patterns, so a
 * build reads cache only from where it may write (a build of the same repository by another team,
 * pushed elsewhere, is not this build's to read).
 */
async function previousCacheSource (build: BuildRecord, earlier: Promise<BuildRecord[]>): Promise<CacheSource | null> {
  const { request } = build
  if (!request.push || request.registryCache === false || request.noCache) return null
  const found = (await earlier).find(
    (candidate) => candidate.registryCache?.exported === true && candidate.image?.pushed === true && candidate.image.digest !== null && candidate.image.repository === request.image
  )
  return found?.image?.digest ? { reference: `${found.image.repository}@${found.image.digest}`, source: 'previous-build', build: found.id } : null
}

/** The succeeded builds before this one of the same repository, ref, Dockerfile and target, newest first (among the repository's last 50); none for an upload. */
async function earlierBuilds (store: BuildStore, build: BuildRecord, resolvedRef: string | null): Promise<BuildRecord[]> {
  if (build.request.repo === null) return []
  const refOf = (record: BuildRecord, resolved: string | null) => resolved ?? record.request.ref
  const { items } = await store.list({ repo: build.request.repo, status: 'succeeded', limit: 50 })
  return items.filter(
    (earlier) =>
      earlier.id < build.id &&
      earlier.image !== null &&
      earlier.request.variants.length === 0 &&
      refOf(earlier, earlier.resolvedRef) === refOf(build, resolvedRef) &&
      earlier.request.dockerfile === build.request.dockerfile &&
      earlier.request.target === build.request.target
  )
}
