import path from 'node:path'
import { PathInvalid, PushWithoutImage, RefInvalid, ReportRepoInvalid, ReportTokenNotAnId, SecretsNeedBuildkit, TagReserved, TimeoutTooLong, VariantNameRepeated } from '../errors.js'
import type { BuildRecord, BuildRequest, BuildUploadOptions, NormalizedRequest, Report, ReportRequest, UploadSource } from '../schemas/build.js'
import type { Actor } from '../schemas/audit.js'
import type { Variant } from '../schemas/insight.js'
import { checkImageReference, checkPushedImageName, localImageName } from './image-ref.js'
import { parseRepoUrl, printable, type RepoPolicy } from './repo-url.js'

export interface RequestPolicy {
  repos: RepoPolicy
  timeoutSeconds: number
  timeoutMaxSeconds: number
  /** SLIPWAY_LOCAL_IMAGE_NAMESPACE: where images that are not pushed are tagged. */
  localNamespace: string
  /** SLIPWAY_BUILDER: the builder of requests that name none (classic cannot mount secrets). Default: auto. */
  defaultBuilder?: 'auto' | 'buildkit' | 'classic'
}

/**
 * Checks what the schema cannot (URL, ref and path rules) and fills every default, so the stored
 * request says exactly what will be built. Throws a coded 400 error on the first problem.
 */
export function normalizeBuildRequest (request: BuildRequest, policy: RequestPolicy): NormalizedRequest {
  const repo = parseRepoUrl(request.repo, policy.repos)
  return {
    repo: repo.url,
    ref: request.ref === undefined ? null : checkRef(request.ref),
    ...normalizeOptions(request, repo.name, policy),
    keepGitDir: request.keepGitDir ?? false,
    submodules: request.submodules ?? false,
    supersede: request.supersede ?? false,
    report: request.report ? normalizeReport(request.report, repo) : null
  }
}

const DEFAULT_REPORT_CONTEXT = 'slipway'
// The prefixes GitHub's and GitLab's tokens carry (ghp_, github_pat_, glpat-, …): a request that
// sends one where a secret's id belongs is refused without the token being echoed or stored.
const FORGE_TOKEN_SHAPE = /^(gh[pousr]_|github_pat_|gl[a-z]{1,6}-)/

/**
 * Where a build reports its status: the forge repository the request names, or its own
 * repository's path. REPORT_TOKEN_NOT_AN_ID for a token sent in clear; REPORT_REPO_INVALID when that path is not one the forge could have (a local
 * repository, or a GitHub path that is not owner/name).
 */
function normalizeReport (report: ReportRequest, repo: { key: string; local: boolean }): Report {
  if (FORGE_TOKEN_SHAPE.test(report.token)) throw new ReportTokenNotAnId()
  const path = report.repo ?? (repo.local ? null : repo.key.split('/').slice(1).join('/'))
  const forge = report.provider === 'github' ? 'GitHub' : 'GitLab'
  if (path === null) throw new ReportRepoInvalid(`A local repository has no path on ${forge}: name the repository to report to as report.repo (e.g. acme/app).`)
  const parts = path.split('/')
  if (parts.some((part) => !/^[A-Za-z0-9_.-]+$/.test(part) || /^\.+$/.test(part)) || parts.length < 2 || (report.provider === 'github' && parts.length !== 2)) {
    const shape = report.provider === 'github' ? 'owner/name' : 'group/project (or group/subgroup/project)'
    throw new ReportRepoInvalid(`'${printable(path)}' is not a ${forge} repository path (${shape}); set report.repo to the repository on ${forge}.`)
  }
  return { provider: report.provider, repo: path, token: report.token, context: report.context ?? DEFAULT_REPORT_CONTEXT }
}

/** An upload's image when it names none: <namespace>/upload, as a repository's is <namespace>/<its name>. */
export const UPLOAD_IMAGE_NAME = 'upload'

/** The same for a build of an uploaded tar: its options, and what was uploaded. */
export function normalizeUploadRequest (options: BuildUploadOptions, source: UploadSource, policy: RequestPolicy): NormalizedRequest {
  return { repo: null, ref: null, source, ...normalizeOptions(options, UPLOAD_IMAGE_NAME, policy), keepGitDir: false, submodules: false, supersede: false, report: null }
}

/**
 * The image a request tags, and whether it is pushed: a pushed one as given (never in the local
 * namespace), one that is not pushed under the local namespace, `defaultName` there without one.
 */
export function normalizeImage (request: Pick<BuildUploadOptions, 'image' | 'push'>, defaultName: string, policy: RequestPolicy): { image: string; push: boolean } {
  if (request.push === true && request.image === undefined) throw new PushWithoutImage()
  const push = request.push ?? request.image !== undefined
  if (push) return { image: checkPushedImageName(request.image!, policy.localNamespace), push }
  return { image: localImageName(request.image ?? defaultName, policy.localNamespace), push }
}

/** The options a repository and an upload share, checked, with their defaults. */
function normalizeOptions (request: BuildUploadOptions, defaultName: string, policy: RequestPolicy) {
  const context = checkRelativePath(request.context ?? '.', 'context')
  const dockerfile = checkRelativePath(request.dockerfile ?? path.posix.join(context, 'Dockerfile'), 'dockerfile')
  const { image, push } = normalizeImage(request, defaultName, policy)
  const timeoutSeconds = request.timeoutSeconds ?? Math.min(policy.timeoutSeconds, policy.timeoutMaxSeconds)
  if (timeoutSeconds > policy.timeoutMaxSeconds) throw new TimeoutTooLong(String(timeoutSeconds), String(policy.timeoutMaxSeconds))
  const target = request.target ?? null
  const buildArgs = request.buildArgs ?? {}
  const secrets = checkSecretsBuilder(request, policy)
  return {
    context,
    dockerfile,
    target,
    buildArgs,
    labels: request.labels ?? {},
    image,
    tags: checkTags(request.tags ?? null),
    push,
    noCache: request.noCache ?? false,
    registryCache: request.registryCache ?? true,
    cacheFrom: checkCacheFrom(request.cacheFrom ?? []),
    sbom: request.sbom ?? push,
    provenance: request.provenance ?? push,
    sign: request.sign ?? push,
    builder: request.builder ?? null,
    ...secrets,
    network: request.network ?? 'default',
    timeoutSeconds,
    priority: request.priority ?? 'normal',
    force: request.force ?? false,
    maxImageBytes: request.maxImageBytes ?? null,
    budgetMode: request.budgetMode ?? 'fail',
    variants: normalizeVariants(request.variants ?? [], { dockerfile, target, buildArgs }),
    // Checked and filled in by the webhook service, which keeps their secrets apart.
    webhooks: []
  }
}

/**
 * The secrets and SSH keys a request names (ids only: their values never enter a request or a
 * record); SECRETS_NEED_BUILDKIT when the build would run on the classic builder, which cannot mount them.
 */
export function checkSecretsBuilder (request: Pick<BuildUploadOptions, 'secrets' | 'ssh' | 'builder'>, policy: Pick<RequestPolicy, 'defaultBuilder'>): { secrets: string[]; ssh: string[] } {
  const secrets = request.secrets ?? []
  const ssh = request.ssh ?? []
  if (secrets.length + ssh.length > 0) {
    const named = [secrets.length ? `secrets (${secrets.join(', ')})` : '', ssh.length ? `SSH keys (${ssh.join(', ')})` : ''].filter(Boolean).join(' and ')
    if (request.builder === 'classic') throw new SecretsNeedBuildkit(`${named} with \`builder: classic\``, 'Leave `builder` out (or set it to buildkit), or drop them.')
    if (request.builder === undefined && policy.defaultBuilder === 'classic') {
      throw new SecretsNeedBuildkit(`${named}, and this server builds with the classic builder (SLIPWAY_BUILDER=classic)`, 'Set `builder: buildkit` if its engine has BuildKit, or ask the operator to change SLIPWAY_BUILDER.')
    }
  }
  return { secrets, ssh }
}

/** cacheFrom's references, each checked as an image reference (IMAGE_NAME_INVALID names the bad one). */
export function checkCacheFrom (references: string[]): string[] {
  references.forEach((reference, i) => checkImageReference(reference, `cacheFrom[${i}]`))
  return references
}

/** Each variant inherits what it does not set from the request itself. */
function normalizeVariants (variants: NonNullable<BuildRequest['variants']>, inherited: Omit<Variant, 'name'>): Variant[] {
  const names = new Set<string>()
  return variants.map((variant) => {
    if (names.has(variant.name)) throw new VariantNameRepeated(variant.name)
    names.add(variant.name)
    return {
      name: variant.name,
      dockerfile: variant.dockerfile === undefined ? inherited.dockerfile : checkRelativePath(variant.dockerfile, `variants[${variant.name}].dockerfile`),
      target: variant.target ?? inherited.target,
      buildArgs: { ...inherited.buildArgs, ...variant.buildArgs }
    }
  })
}

/** A relative path inside the repository (or upload), normalised ("./a//b/" → "a/b"); never absolute, never "..". */
function checkRelativePath (value: string, field: string): string {
  const invalid = (why: string) =>
    new PathInvalid(`${field} '${printable(value)}' ${why}; give a path relative to the root of the repository (or upload), like "app" or "docker/Dockerfile"`)
  if (/[\u0000-\u001f\u007f\\]/.test(value)) throw invalid('contains control characters or backslashes')
  // Look-alikes of "/" and "." (fullwidth, division slash, …) would make a path read as another.
  if (/[^\x20-\x7e]/.test(value)) throw invalid('has characters outside printable ASCII')
  if (value.startsWith('/')) throw invalid('is absolute')
  if (value.split('/').includes('..')) throw invalid('climbs out with ".."')
  return path.posix.normalize(value).replace(/\/+$/, '') || '.'
}

/** git check-ref-format's rules, plus no leading "-" so a ref can never be read as an option. */
function checkRef (ref: string): string {
  const invalid = (why: string) =>
    new RefInvalid(`ref '${printable(ref)}' ${why}; give a branch, a tag, or a commit SHA (7 to 40 hex digits)`)
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(ref)) throw invalid('contains a space, a control character or one of ~ ^ : ? * [ \\')
  // git allows any UTF-8 in a ref; a dash or slash look-alike in one is only good for misleading.
  if (/[^\x21-\x7e]/.test(ref)) throw invalid('has characters outside printable ASCII')
  if (ref.startsWith('-')) throw invalid('starts with "-"')
  if (ref.includes('..') || ref.includes('@{') || ref === '@') throw invalid('contains "..", "@{" or is "@"')
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//')) throw invalid('has an empty path component')
  if (ref.endsWith('.') || ref.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'))) {
    throw invalid('has a component starting with "." or ending with ".lock" or "."')
  }
  return ref
}

// Tags that name a digest are the supply chain's: cosign's .sig/.att/.sbom and the referrers tag schema's.
const DIGEST_TAG = /^sha256-[0-9a-f]{64}/i

/** The request's tags, none of which may stand where an image's signatures and attestations are kept. */
function checkTags (tags: string[] | null): string[] | null {
  const reserved = tags?.find((tag) => DIGEST_TAG.test(tag))
  if (reserved !== undefined) throw new TagReserved(reserved)
  return tags
}

export function newBuildRecord (id: string, request: NormalizedRequest, createdAt: Date, createdBy: Actor | null = null): BuildRecord {
  return {
    id,
    status: 'queued',
    request,
    commit: null,
    resolvedRef: null,
    createdAt: createdAt.toISOString(),
    createdBy,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    attempts: 0,
    ranOn: null,
    retryOf: null,
    reusedFrom: null,
    cancelRequested: false,
    canceledBy: null,
    canceledAt: null,
    phases: [],
    builder: null,
    steps: [],
    image: null,
    cache: null,
    registryCache: null,
    baseImages: null,
    packages: null,
    attestations: null,
    signature: null,
    variants: [],
    warnings: [],
    error: null,
    logExpiredAt: null
  }
}
