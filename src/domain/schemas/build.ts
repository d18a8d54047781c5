import { Type, type Static, type TInteger } from '@sinclair/typebox'
import { BUILD_STATUSES, TERMINAL_STATUSES } from '../build-status.js'
import { REQUEST_NETWORKS } from '../builds/build-network.js'
import { FAILURE_CODES, type FailureCode } from '../builds/failure-codes.js'
import { SECRET_ID_PATTERN } from '../secrets/secret-ids.js'
import { ActorSchema } from './audit.js'
import { Nullable, StringEnum, Timestamp } from './common.js'
import { BUDGET_MODES, BudgetSchema, FindingSchema, SizeDeltaSchema, VariantRequestSchema, VariantResultSchema, VariantSchema } from './insight.js'
import { BuildWebhookSchema, BuildWebhookViewSchema } from './webhook.js'

// The build's models, shared by the API, the workers and the OpenAPI document. Each model with
// an $id becomes a named component (`#/components/schemas/Build`) that client generators use.

export const BUILDERS = ['buildkit', 'classic'] as const
export type Builder = (typeof BUILDERS)[number]

export const PRIORITIES = ['low', 'normal', 'high'] as const
export type Priority = (typeof PRIORITIES)[number]

// The schema's outer bound; the server's own limit (SLIPWAY_BUILD_TIMEOUT_MAX_SECONDS) is checked after.
const TIMEOUT_BOUND_SECONDS = 7 * 86_400

// The list itself is in ../build-status.js, which the portal loads as it is.
export { BUILD_STATUSES, TERMINAL_STATUSES }
export const BuildStatusSchema = StringEnum(BUILD_STATUSES, {
  $id: 'BuildStatus',
  description: 'queued → running → one of the terminal states succeeded, failed, canceled, timed_out'
})
export type BuildStatus = (typeof BUILD_STATUSES)[number]

/** The code hosts Slipway hears events from and reports to. */
export const FORGE_PROVIDERS = ['github', 'gitlab'] as const
export type ForgeProvider = (typeof FORGE_PROVIDERS)[number]

/** A commit status's name on the forge; builds of one commit that report under one context replace each other's status. */
export const REPORT_CONTEXT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9 _./:@-]{0,99}$'

export const ReportRequestSchema = Type.Object(
  {
    provider: StringEnum(FORGE_PROVIDERS, {
      description: 'Where the commit is: GitHub (commit statuses; SLIPWAY_GITHUB_API_URL, for GitHub Enterprise) or GitLab (commit status API; SLIPWAY_GITLAB_API_URL, for self-managed GitLab)'
    }),
    repo: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$',
        maxLength: 255,
        description: "The repository on that forge: owner/name (GitHub) or group/…/project (GitLab). Default: the path of the build's repository URL",
        examples: ['acme/app']
      })
    ),
    token: Type.String({
      pattern: SECRET_ID_PATTERN,
      description:
        'The id of a secret Slipway holds (/v1/secrets, kind secret) whose value is the forge token: a GitHub personal or App installation token with ' +
        'commit status (and, for pull requests, issue comment) write access, or a GitLab project, group or personal token with the api scope. Never the token itself. ' +
        'The secret must allow this repository and token, as `secrets` do (403 SECRET_NOT_ALLOWED)'
    }),
    context: Type.Optional(
      Type.String({
        pattern: REPORT_CONTEXT_PATTERN,
        description: "The status's name on the commit (GitHub's context, GitLab's name), and what tells Slipway's pull request comment apart from another rule's. Default: slipway"
      })
    )
  },
  { $id: 'ReportRequest', additionalProperties: false, description: "Report the build's progress as the commit's status on GitHub or GitLab" }
)
export type ReportRequest = Static<typeof ReportRequestSchema>

export const ReportSchema = Type.Object(
  {
    provider: StringEnum(FORGE_PROVIDERS),
    repo: Type.String({ description: 'The repository on the forge' }),
    token: Type.String({ description: 'The id of the secret holding the forge token (never the token)' }),
    context: Type.String({ description: "The status's name on the commit" })
  },
  { $id: 'Report', additionalProperties: false, description: 'Where the build reports its status' }
)
export type Report = Static<typeof ReportSchema>

const SecretIds = (description: string) =>
  Type.Array(Type.String({ pattern: SECRET_ID_PATTERN, description: 'A secret id, as the Dockerfile names it' }), { maxItems: 16, uniqueItems: true, description })

const StringMap = (description: string, keyPattern: string, maxValueLength: number) =>
  Type.Record(Type.String(), Type.String({ maxLength: maxValueLength }), {
    propertyNames: { pattern: keyPattern, maxLength: 256 },
    maxProperties: 64,
    description
  })

export const BuildRequestSchema = Type.Object(
  {
    repo: Type.String({
      minLength: 1,
      maxLength: 2048,
      description:
        'Git repository to build: https://host/path, ssh://[user@]host/path or user@host:path. ' +
        'file:// URLs and absolute paths only when the server sets SLIPWAY_ALLOW_LOCAL_REPOS.',
      examples: ['https://github.com/acme/app.git']
    }),
    ref: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description: "A branch, a tag, or a commit SHA (full, or 7+ hex digits). Default: the remote's default branch.",
        examples: ['main', 'v1.2.0', '3f2a9c1']
      })
    ),
    context: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'Build context: a folder relative to the repository root. Default: "." (the root).'
      })
    ),
    dockerfile: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description:
          'The Dockerfile, relative to the repository root; it may live outside the context. Default: "<context>/Dockerfile".'
      })
    ),
    target: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$',
        description: 'Stage of a multi-stage Dockerfile to build. Default: the last stage.'
      })
    ),
    buildArgs: Type.Optional(StringMap('Build arguments (ARG values), name → value.', '^[A-Za-z_][A-Za-z0-9_]*$', 32_768)),
    labels: Type.Optional(
      StringMap(
        'Labels to add to the image. Slipway adds org.opencontainers.image.source and .revision itself.',
        '^[A-Za-z0-9][A-Za-z0-9._/-]*$',
        4096
      )
    ),
    image: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description:
          'Repository to tag (and push) the image as, without a tag, e.g. registry.example.com/team/app. ' +
          'An image that is not pushed is tagged in the server\'s local namespace instead (SLIPWAY_LOCAL_IMAGE_NAMESPACE, default slipway.local): ' +
          'its repository path, without the registry. Default: <namespace>/<repository name>, built locally and not pushed.',
        examples: ['localhost:5000/team/app']
      })
    ),
    tags: Type.Optional(
      Type.Array(
        Type.String({
          pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$',
          description: 'a Docker tag: up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"'
        }),
        {
          minItems: 1,
          maxItems: 16,
          uniqueItems: true,
          description: "Tags to give the image. Default: the commit's first 12 hex digits."
        }
      )
    ),
    push: Type.Optional(
      Type.Boolean({
        description: 'Push every tag to the registry. Default: true when `image` is given, else false. An image in the local namespace cannot be pushed.'
      })
    ),
    noCache: Type.Optional(Type.Boolean({ description: "Build without Docker's layer cache. Default: false." })),
    registryCache: Type.Optional(
      Type.Boolean({
        description:
          'Registry cache (BuildKit only): a pushed image carries inline cache metadata in its config (a few hundred bytes), and the build imports ' +
          'cache from the previous pushed build of the same repository, branch, Dockerfile, target and image, and from `cacheFrom`, so an engine ' +
          'that never built the repository still reuses unchanged layers. Costs a registry round trip per source before the build. false: neither ' +
          'export nor import. Default: true (unless the server sets SLIPWAY_REGISTRY_CACHE=off). An import that fails (registry down, image gone) ' +
          'is logged and the build goes on without it; imports from a registry that requires a login fail so (BuildKit through the ' +
          'Engine API has no credentials for them; docs/operations/registry-cache.md).'
      })
    ),
    cacheFrom: Type.Optional(
      Type.Array(
        Type.String({
          minLength: 1,
          maxLength: 512,
          description: 'An image reference: repository, with a tag or a digest (registry.example.com/team/app:main, …/app@sha256:…)'
        }),
        {
          maxItems: 4,
          uniqueItems: true,
          description:
            'More images to import registry cache from (BuildKit only; see registryCache), tried in this order after the previous build. ' +
            'Each must be in a repository the token may push to (403 CACHE_FROM_NOT_ALLOWED otherwise): the worker pulls them with its own credentials. ' +
            'Only images pushed with inline cache (by Slipway, or with BUILDKIT_INLINE_CACHE=1) help. Default: none.'
        }
      )
    ),
    sbom: Type.Optional(
      Type.Boolean({
        description:
          'List the packages of the built image (Debian and Alpine packages, Python, Node and Go modules) with the layer that added each, served as SPDX 2.3 or ' +
          'CycloneDX 1.5 JSON at /v1/builds/{id}/sbom and counted in the build\'s `packages`. Default: true when the image is pushed (unless the server sets ' +
          'SLIPWAY_SBOM=off), else false.'
      })
    ),
    provenance: Type.Optional(
      Type.Boolean({
        description:
          'Keep what is needed for a SLSA v1 provenance statement of the pushed image (source, parameters, base image digests, times), served at ' +
          '/v1/builds/{id}/provenance. Default: true when the image is pushed (unless the server sets SLIPWAY_PROVENANCE=off), else false.'
      })
    ),
    sign: Type.Optional(
      Type.Boolean({
        description:
          "Sign the pushed image, and its attestations' envelopes, with the server's key (SLIPWAY_SIGNING_KEY) in cosign's format; public key at /v1/signing-key. " +
          'A server without a key signs nothing, and the build says so (signature: null, and a line in its log). Default: true when the image is pushed, else false.'
      })
    ),
    secrets: Type.Optional(
      SecretIds(
        'Secrets Slipway holds (/v1/secrets) that RUN steps may mount with `--mount=type=secret,id=<id>` (at /run/secrets/<id>); never in the image, its history or its cache keys. ' +
          'Each must exist, be of kind secret and be allowed for this repository and token, else 403 SECRET_NOT_ALLOWED. BuildKit only (400 SECRETS_NEED_BUILDKIT with the classic builder). Default: none.'
      )
    ),
    ssh: Type.Optional(
      SecretIds(
        'SSH keys Slipway holds (secrets of kind ssh) that RUN steps may use through an SSH agent with `--mount=type=ssh` (id "default" when the mount names none) or `--mount=type=ssh,id=<id>`. ' +
          'Checked as `secrets` are. Default: none.'
      )
    ),
    builder: Type.Optional(
      StringEnum(BUILDERS, {
        description: "Docker's builder: BuildKit or the classic builder. Default: the worker's SLIPWAY_BUILDER (BuildKit where the engine has it)."
      })
    ),
    network: Type.Optional(
      StringEnum(REQUEST_NETWORKS, {
        description:
          "The network the build's RUN steps see: none, or default (the server's SLIPWAY_BUILD_NETWORK). A build may narrow the " +
          "server's network, never widen it: there is no host. Default: default."
      })
    ),
    submodules: Type.Optional(
      Type.Boolean({
        description: "Fetch the repository's git submodules (shallow), each URL checked like the repository's. Default: false."
      })
    ),
    keepGitDir: Type.Optional(
      Type.Boolean({
        description:
          "Send the repository's .git folder in the context (for builds that run git themselves). Default: false, " +
          'as for `docker build <git URL>`: the context is the tree at the commit.'
      })
    ),
    timeoutSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: TIMEOUT_BOUND_SECONDS,
        description:
          'Whole-build time limit; past it the build ends timed_out. Default and maximum: the server\'s ' +
          'SLIPWAY_BUILD_TIMEOUT_SECONDS and SLIPWAY_BUILD_TIMEOUT_MAX_SECONDS.'
      })
    ),
    priority: Type.Optional(StringEnum(PRIORITIES, { description: 'Queue priority: high builds start before normal ones, normal before low. Default: normal.' })),
    force: Type.Optional(
      Type.Boolean({
        description:
          'Build even if an identical build is queued or running (which the request would otherwise join) or has ' +
          'succeeded with its image still in the registry (whose results it would otherwise reuse). Default: false.'
      })
    ),
    supersede: Type.Optional(
      Type.Boolean({
        description: 'Cancel the queued builds of the same repository, ref and image that this one makes obsolete. Default: false.'
      })
    ),
    maxImageBytes: Type.Optional(Type.Integer({ minimum: 1, description: 'A size budget for the image, in bytes' })),
    budgetMode: Type.Optional(
      StringEnum(BUDGET_MODES, {
        description: 'fail: an image over budget is not pushed and the build fails (IMAGE_TOO_LARGE); warn: it succeeds with a warning. Default: fail.'
      })
    ),
    variants: Type.Optional(
      Type.Array(Type.Ref(VariantRequestSchema), {
        minItems: 2,
        maxItems: 8,
        description:
          'Build the same commit several ways (Dockerfiles, targets, build args) and compare them. Each variant inherits the request; its tags get "-<name>".'
      })
    ),
    report: Type.Optional(
      Type.Ref(ReportRequestSchema, {
        description:
          "Set the commit's status on GitHub or GitLab as the build goes: pending when queued, running, then success, failure or canceled, with a one-line " +
          'summary and a link to the build in the portal (SLIPWAY_PUBLIC_URL). Sent, retried and logged as webhook deliveries are (/v1/builds/{id}/deliveries). ' +
          'Repositories only (an upload has no commit on the forge). Default: none'
      })
    ),
    webhooks: Type.Optional(
      Type.Array(Type.Ref(BuildWebhookSchema), {
        maxItems: 10,
        description: "Receivers of this build's events, besides the subscriptions at /v1/webhooks"
      })
    )
  },
  { $id: 'BuildRequest', additionalProperties: false, description: 'What to build. Only `repo` is required.' }
)
export type BuildRequest = Static<typeof BuildRequestSchema>

/** What only a repository has: an uploaded tar brings its files, not a repository, ref or history. */
const GIT_ONLY = ['repo', 'ref', 'submodules', 'keepGitDir', 'supersede', 'report'] as const

export const BuildUploadOptionsSchema = Type.Omit(BuildRequestSchema, GIT_ONLY, {
  $id: 'BuildUploadOptions',
  additionalProperties: false,
  description:
    'The options of a build of an uploaded tar: those of a BuildRequest but repo, ref, submodules, keepGitDir, ' +
    'supersede and report. context and dockerfile are relative to the root of the tar. All are optional.'
})
export type BuildUploadOptions = Static<typeof BuildUploadOptionsSchema>

export const UploadSourceSchema = Type.Object(
  {
    type: Type.Literal('upload'),
    sizeBytes: Type.Integer({ minimum: 1, description: 'The gzipped tar as uploaded, in bytes' }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: "The uploaded bytes' SHA-256, in hex: identical uploads share it" })
  },
  { $id: 'UploadSource', additionalProperties: false, description: 'An uploaded gzipped tar the build was made from' }
)
export type UploadSource = Static<typeof UploadSourceSchema>

export const NormalizedRequestSchema = Type.Object(
  {
    repo: Nullable(Type.String({ description: 'The repository URL, as it is cloned; null for an upload' })),
    ref: Nullable(Type.String({ description: "null: the remote's default branch (or an upload, which has no ref)" })),
    source: Type.Optional(Type.Ref(UploadSourceSchema, { description: 'Present when the build is of an uploaded tar rather than a repository' })),
    context: Type.String(),
    dockerfile: Type.String({ description: 'Relative to the repository root (or the root of an upload)' }),
    target: Nullable(Type.String()),
    buildArgs: Type.Record(Type.String(), Type.String()),
    labels: Type.Record(Type.String(), Type.String()),
    image: Type.String(),
    tags: Nullable(Type.Array(Type.String(), { description: "null: the commit's first 12 hex digits (an upload's: its sha256's)" })),
    push: Type.Boolean(),
    noCache: Type.Boolean(),
    registryCache: Type.Boolean({ description: 'false: the build neither exports nor imports registry cache. Read as true for builds made before Slipway had it' }),
    cacheFrom: Type.Array(Type.String(), { description: 'Images the request named to import registry cache from. Read as [] for builds made before Slipway had it' }),
    builder: Nullable(StringEnum(BUILDERS, { description: "null: the worker's default" })),
    sbom: Type.Boolean({ description: "Whether the image's packages are listed. Read as false for builds made before Slipway listed them" }),
    provenance: Type.Boolean({ description: 'Whether a provenance statement is served for the pushed image. Read as false for builds made before Slipway made them' }),
    sign: Type.Boolean({ description: 'Whether the pushed image is signed (with a signing key on the server). Read as false for builds made before Slipway signed images' }),
    secrets: Type.Array(Type.String(), { description: 'The ids of the secrets the build mounts (never their values). Read as [] for builds made before Slipway had them' }),
    ssh: Type.Array(Type.String(), { description: 'The ids of the SSH keys the build offers through an agent (never the keys). Read as [] for builds made before Slipway had them' }),
    network: StringEnum(REQUEST_NETWORKS, { description: "default: the worker's SLIPWAY_BUILD_NETWORK" }),
    keepGitDir: Type.Boolean(),
    submodules: Type.Boolean(),
    timeoutSeconds: Type.Integer(),
    priority: StringEnum(PRIORITIES),
    force: Type.Boolean(),
    supersede: Type.Boolean(),
    maxImageBytes: Nullable(Type.Integer()),
    budgetMode: StringEnum(BUDGET_MODES),
    variants: Type.Array(Type.Ref(VariantSchema)),
    webhooks: Type.Array(Type.Ref(BuildWebhookViewSchema)),
    report: Nullable(Type.Ref(ReportSchema, { description: 'Where the build reports its status; null: nowhere. Read as null for builds made before Slipway reported' }))
  },
  { $id: 'NormalizedBuildRequest', additionalProperties: false, description: 'The request with every default filled in' }
)
export type NormalizedRequest = Static<typeof NormalizedRequestSchema>

// A build of a repository starts with `clone`; one of an uploaded tar with `unpack` (the tar, read
// from Redis, unpacked into the build's folder) instead.
export const PHASE_NAMES = ['clone', 'unpack', 'context', 'build', 'push', 'inspect', 'attest'] as const
export type PhaseName = (typeof PHASE_NAMES)[number]

export const PhaseSchema = Type.Object(
  {
    name: StringEnum(PHASE_NAMES),
    status: StringEnum(['running', 'succeeded', 'failed', 'skipped', 'interrupted'] as const, {
      description: 'interrupted: stopped before it finished because the build was canceled or timed out'
    }),
    startedAt: Timestamp,
    finishedAt: Nullable(Timestamp),
    durationMs: Nullable(Type.Integer()),
    variant: Type.Optional(Type.String({ description: 'With variants: which variant this phase built' }))
  },
  { $id: 'Phase', additionalProperties: false }
)
export type Phase = Static<typeof PhaseSchema>

export const LayerSchema = Type.Object(
  {
    instruction: Type.String({ description: 'The Dockerfile instruction (or base image step) that made this layer' }),
    sizeBytes: Type.Integer({ minimum: 0 }),
    createdAt: Nullable(Timestamp),
    line: Nullable(Type.Integer({ description: 'The Dockerfile line of that instruction; null for base image layers' })),
    stage: Nullable(Type.String({ description: 'The stage it belongs to' })),
    fromBase: Type.Boolean({ description: 'The layer came with the base image, not from this Dockerfile' })
  },
  { $id: 'Layer', additionalProperties: false }
)
export type Layer = Static<typeof LayerSchema>

export const ImageSchema = Type.Object(
  {
    id: Type.String({ description: 'Local image id (sha256:…)' }),
    repository: Type.String(),
    tags: Type.Array(Type.String(), { description: 'Full references, repository:tag' }),
    pushed: Type.Boolean(),
    digest: Nullable(Type.String({ description: 'Manifest digest the registry reported on push; null when not pushed' })),
    sizeBytes: Type.Integer({ minimum: 0, description: 'Uncompressed size, as `docker images` reports it' }),
    layers: Type.Array(Type.Ref(LayerSchema), { description: 'Image history, oldest first; metadata-only steps have 0 bytes' }),
    baseBytes: Type.Integer({ description: 'Bytes that came with the base image' }),
    addedBytes: Type.Integer({ description: 'Bytes this Dockerfile added' }),
    sizeDelta: Nullable(Type.Ref(SizeDeltaSchema)),
    findings: Type.Array(Type.Ref(FindingSchema), { description: 'What would make the image smaller, largest first' }),
    budget: Nullable(Type.Ref(BudgetSchema))
  },
  { $id: 'Image', additionalProperties: false }
)
export type Image = Static<typeof ImageSchema>

// Why a step ran instead of coming from the layer cache, against the previous build of the same
// repository, branch (or upload image), Dockerfile and target. Only the first step of a chain
// that rebuilt has a cause of its own; the steps after it follow it (earlier-step-rebuilt).
export const CACHE_MISS_REASONS = [
  'first-build',
  'no-cache',
  'instruction-changed',
  'build-arg-changed',
  'base-image-changed',
  'files-changed',
  'earlier-step-rebuilt',
  'cache-not-on-engine'
] as const
export type CacheMissReason = (typeof CACHE_MISS_REASONS)[number]

export const CacheMissSchema = Type.Object(
  {
    reason: StringEnum(CACHE_MISS_REASONS, {
      description:
        'first-build: nothing to compare with; no-cache: the request asked for it; instruction-changed: the line differs (after build-arg ' +
        'substitution); build-arg-changed: a build arg the step sees changed; base-image-changed: the stage\'s FROM image is another one; ' +
        'files-changed: files under a COPY/ADD source changed; earlier-step-rebuilt: a step it builds on ran; cache-not-on-engine: nothing ' +
        'changed, but the engine had no cache for it (another engine ran the previous build, or its cache was pruned) and no registry cache covered it'
    }),
    detail: Type.Object(
      {
        summary: Type.String({ description: 'One line for people: "src/app.py changed", "ARG VERSION: 1.2 → 1.3"' }),
        before: Type.Optional(Nullable(Type.String({ description: 'instruction-changed: the line before (null: new); build-arg-changed: the old value; base-image-changed: the old image id' }))),
        after: Type.Optional(Nullable(Type.String({ description: 'The same, now' }))),
        beforeDigest: Type.Optional(
          Nullable(Type.String({ description: "base-image-changed: the old image's registry manifest digest (sha256:…); null when the engine knew none (an image built or loaded on it)" }))
        ),
        afterDigest: Type.Optional(Nullable(Type.String({ description: "base-image-changed: the new image's registry manifest digest; null when the engine knows none" }))),
        arg: Type.Optional(Type.String({ description: 'build-arg-changed: which arg; values of args named like secrets read "(redacted)"' })),
        step: Type.Optional(Type.Integer({ minimum: 0, description: 'earlier-step-rebuilt: the index in `steps` of the rebuilt step this one builds on' })),
        files: Type.Optional(Type.Array(Type.String(), { maxItems: 20, description: 'files-changed: the first 20 changed files, relative to the context' })),
        fileCount: Type.Optional(Type.Integer({ minimum: 0, description: 'files-changed: how many changed in all' })),
        engine: Type.Optional(Nullable(Type.String({ description: 'cache-not-on-engine: the engine the previous build ran on' })))
      },
      { additionalProperties: false }
    )
  },
  { $id: 'CacheMiss', additionalProperties: false, description: 'Why a step ran instead of coming from the layer cache' }
)
export type CacheMiss = Static<typeof CacheMissSchema>

export const StepSchema = Type.Object(
  {
    stage: Nullable(Type.String({ description: 'The Dockerfile stage (its AS name, or its number); null for builder-internal steps' })),
    instruction: Type.String({ description: 'The Dockerfile instruction, or what BuildKit calls the step' }),
    status: StringEnum(['running', 'succeeded', 'failed', 'interrupted'] as const, {
      description: 'interrupted: still running when the build ended (canceled, timed out, or another step failed)'
    }),
    cached: Type.Boolean({ description: 'Served from the layer cache rather than run' }),
    startedAt: Nullable(Timestamp),
    durationMs: Nullable(Type.Integer()),
    exitCode: Type.Optional(Type.Integer({ description: 'For a failed RUN step: its exit code' })),
    line: Type.Optional(Type.Integer({ minimum: 1, description: "The Dockerfile line of the step's instruction; absent for builder-internal steps" })),
    cacheMiss: Type.Optional(Type.Ref(CacheMissSchema, { description: 'For a Dockerfile step that ran rather than coming from the cache: why' }))
  },
  { $id: 'Step', additionalProperties: false, description: 'One step of the build: a Dockerfile instruction or a BuildKit vertex' }
)
export type Step = Static<typeof StepSchema>

export const BuildCacheSchema = Type.Object(
  {
    comparedWith: Nullable(Type.String({ description: 'The previous build (same repository, branch, Dockerfile and target) whose steps this one was compared with; null: none' })),
    steps: Type.Integer({ minimum: 0, description: 'Dockerfile steps that could have come from the cache (FROM and builder-internal steps not counted)' }),
    cached: Type.Integer({ minimum: 0, description: 'Of those, how many did' }),
    hitRate: Nullable(Type.Number({ minimum: 0, maximum: 1, description: 'cached / steps; null without steps' })),
    firstMiss: Nullable(
      Type.Object(
        {
          step: Type.Integer({ minimum: 0, description: 'Its index in `steps`' }),
          instruction: Type.String(),
          line: Nullable(Type.Integer()),
          reason: StringEnum(CACHE_MISS_REASONS),
          summary: Type.String(),
          followers: Type.Integer({ minimum: 0, description: 'How many steps after it rebuilt because it did' })
        },
        { additionalProperties: false, description: 'The first step that ran, and why: the root of every other miss' }
      )
    )
  },
  { $id: 'BuildCache', additionalProperties: false, description: 'How much of the build came from the layer cache, and why the rest did not' }
)
export type BuildCache = Static<typeof BuildCacheSchema>

export const REGISTRY_CACHE_SOURCES = ['previous-build', 'request'] as const

export const RegistryCacheSchema = Type.Object(
  {
    exported: Type.Boolean({ description: 'The pushed image carries inline cache metadata for later builds (BuildKit, pushed, registry cache on)' }),
    imports: Type.Array(
      Type.Object(
        {
          reference: Type.String({ description: 'The image cache was imported from: repository@digest for the previous build, as given for cacheFrom' }),
          source: StringEnum(REGISTRY_CACHE_SOURCES, { description: "previous-build: the previous pushed build of the same repository, branch, Dockerfile, target and image; request: the request's cacheFrom" }),
          outcome: StringEnum(['imported', 'failed'] as const, { description: 'failed: the engine could not read it (registry down, image gone, no access); the build went on without it' }),
          error: Type.Optional(Type.String({ description: 'failed: what the engine said' })),
          durationMs: Type.Optional(Type.Integer({ minimum: 0, description: 'How long reading its cache metadata from the registry took, as BuildKit timed it' }))
        },
        { additionalProperties: false }
      ),
      { description: 'The images cache was imported from, in the order tried' }
    )
  },
  { $id: 'RegistryCache', additionalProperties: false, description: "The build's registry cache: whether it exported cache metadata, and where it imported cache from" }
)
export type RegistryCache = Static<typeof RegistryCacheSchema>

export const BuildErrorSchema = Type.Object(
  {
    code: StringEnum(Object.keys(FAILURE_CODES) as FailureCode[], {
      description:
          'Why the build failed:\n' +
          Object.entries(FAILURE_CODES)
            .map(([code, meaning]) => `- ${code}: ${meaning}`)
            .join('\n')
    }),
    message: Type.String(),
    phase: Nullable(StringEnum(PHASE_NAMES)),
    step: Type.Optional(Type.String({ description: 'The Dockerfile step that failed, as the builder printed it' })),
    exitCode: Type.Optional(Type.Integer({ description: 'Exit code of the failing RUN step' }))
  },
  { $id: 'BuildError', additionalProperties: false }
)
export type BuildError = Static<typeof BuildErrorSchema>

export const ECOSYSTEMS = ['deb', 'apk', 'pypi', 'npm', 'golang'] as const

export const PackagesSchema = Type.Object(
  {
    count: Type.Integer({ minimum: 0, description: 'Packages in the final image (those a later layer removed are not counted)' }),
    byEcosystem: Type.Object(
      Object.fromEntries(ECOSYSTEMS.map((ecosystem) => [ecosystem, Type.Integer({ minimum: 0 })])) as Record<(typeof ECOSYSTEMS)[number], TInteger>,
      { additionalProperties: false, description: 'deb: Debian and Ubuntu packages (dpkg); apk: Alpine packages; pypi: Python distributions; npm: Node packages; golang: Go modules built into binaries' }
    )
  },
  { $id: 'Packages', additionalProperties: false, description: "What the image's software bill of materials holds, in numbers; the whole list is at /v1/builds/{id}/sbom" }
)
export type Packages = Static<typeof PackagesSchema>

export const BaseImageSchema = Type.Object(
  {
    name: Type.String({ description: 'The image as a FROM line named it (build args substituted)' }),
    digest: Nullable(Type.String({ description: "The registry's manifest digest (sha256:…) of the image the engine built on; null when the engine knows none (an image built or loaded on it)" })),
    imageId: Type.String({ description: "The engine's image id (sha256:…, the digest of the image's config)" })
  },
  { $id: 'BaseImage', additionalProperties: false }
)
export type BaseImage = Static<typeof BaseImageSchema>

export const AttestationSchema = Type.Object(
  {
    predicateType: Type.String({ description: 'What the statement says: https://slsa.dev/provenance/v1, https://spdx.dev/Document or https://cyclonedx.org/bom' }),
    digest: Type.String({ description: "The DSSE envelope's digest (sha256:…): the blob that holds the in-toto statement in the registry" }),
    reference: Type.String({
      description: "Where it is: the OCI 1.1 referrer manifest naming the image as its subject (repository@sha256:…). The same envelope is a layer of the image's cosign attestation tag (sha256-<digest>.att)"
    }),
    signed: Type.Boolean({ description: "Whether the envelope carries a signature by the server's key (SLIPWAY_SIGNING_KEY)" })
  },
  { $id: 'Attestation', additionalProperties: false }
)
export type Attestation = Static<typeof AttestationSchema>

export const SignatureSchema = Type.Object(
  {
    keyId: Type.String({ description: 'The key it was made with: sha256 of its public key, as /v1/signing-key names it' }),
    reference: Type.String({ description: "The image's cosign signature manifest (repository@sha256:…), tagged sha256-<digest>.sig beside the image" })
  },
  { $id: 'Signature', additionalProperties: false }
)
export type Signature = Static<typeof SignatureSchema>

// Where a build ran: the worker process and its Docker Engine, set as each attempt starts.
export const RanOnSchema = Type.Object(
  {
    worker: Type.String({ description: 'The worker process: its host name and process id (host:pid)' }),
    engine: Nullable(
      Type.Object(
        {
          id: Type.String({ description: "The Docker Engine's id (docker info: ID)" }),
          name: Type.String({ description: "The Docker Engine's host name (docker info: Name)" })
        },
        { additionalProperties: false, description: 'The Docker Engine the worker builds on; null when the worker could not ask it' }
      )
    )
  },
  { $id: 'RanOn', additionalProperties: false, description: "Where a build ran: the worker and the Docker Engine of its last attempt. A build's ranOn is null while it is queued, and for builds made before Slipway kept it." }
)
export type RanOn = Static<typeof RanOnSchema>

export const BuildSchema = Type.Object(
  {
    id: Type.String({ description: 'Time-sortable id (ULID)' }),
    status: Type.Ref(BuildStatusSchema),
    request: Type.Ref(NormalizedRequestSchema),
    commit: Nullable(Type.String({ description: 'The 40-hex commit the ref resolved to; null for an upload' })),
    resolvedRef: Nullable(Type.String({ description: 'The full ref that was built (refs/heads/main), null for a commit SHA' })),
    createdAt: Timestamp,
    createdBy: Nullable(Type.Ref(ActorSchema, { description: 'Who asked for the build: a token, or a trigger rule and its push; null for builds made before Slipway recorded it' })),
    startedAt: Nullable(Timestamp),
    finishedAt: Nullable(Timestamp),
    durationMs: Nullable(Type.Integer({ description: 'From start to finish' })),
    attempts: Type.Integer({ minimum: 0, description: 'How many times a worker started this build (more than once after a worker was lost)' }),
    ranOn: Nullable(Type.Ref(RanOnSchema, { description: 'Where the last attempt ran; null while queued and for builds made before Slipway kept it' })),
    retryOf: Nullable(Type.String({ description: 'The build this one retries, at the same commit' })),
    reusedFrom: Nullable(Type.String({ description: 'The identical earlier build whose image this one reused instead of building' })),
    cancelRequested: Type.Boolean({ description: 'A cancel was asked for; a running build stops within seconds' }),
    canceledBy: Nullable(Type.Ref(ActorSchema, { description: 'Who asked for the cancel' })),
    canceledAt: Nullable(Type.String({ format: 'date-time', description: 'When the cancel was asked for' })),
    phases: Type.Array(Type.Ref(PhaseSchema)),
    builder: Nullable(StringEnum(BUILDERS, { description: 'The builder that ran the build phase' })),
    steps: Type.Array(Type.Ref(StepSchema), { description: 'The build phase, step by step, in the order the steps started' }),
    image: Nullable(Type.Ref(ImageSchema)),
    cache: Nullable(Type.Ref(BuildCacheSchema, { description: 'Set when the build phase ends; null before, for builds with variants and for builds made before Slipway kept it' })),
    registryCache: Nullable(
      Type.Ref(RegistryCacheSchema, {
        description: 'Set when the build phase ends (with variants: the last variant built); null before, for classic builds, for reused builds and for builds made before Slipway kept it'
      })
    ),
    baseImages: Nullable(
      Type.Array(Type.Ref(BaseImageSchema), {
        description:
          "The images the Dockerfile's stages were built on, as the engine had them, each once: first the image's own base (the one its `fromBase` layers came from), then the others in Dockerfile order; " +
          'set when the build phase succeeds; null before, for builds with variants and for builds made before Slipway kept them'
      })
    ),
    packages: Nullable(
      Type.Ref(PackagesSchema, {
        description: "The image's packages, counted, when the request asked for them (`sbom`); null before the inspect phase, for builds with variants, when the scan was skipped (the log says why) and for builds made before Slipway listed them"
      })
    ),
    attestations: Nullable(
      Type.Array(Type.Ref(AttestationSchema), {
        description:
          'The in-toto statements attached to the pushed image in the registry (provenance, SBOM in SPDX and CycloneDX), set when the attest phase ends; ' +
          'null when nothing was attached (an image not pushed, a build with variants, a request or a server that asked for none) and for builds made before Slipway attached them'
      })
    ),
    signature: Nullable(
      Type.Ref(SignatureSchema, {
        description:
          "The pushed image's signature; null when it was not signed: the request asked not to (sign: false), the server has no signing key, or the image was not pushed (the log of the attest phase says which)"
      })
    ),
    variants: Type.Array(Type.Ref(VariantResultSchema), { description: 'With variants: the comparison, one row per variant' }),
    warnings: Type.Array(Type.String(), { description: 'What the build wants you to know, e.g. an image over its size budget (mode warn)' }),
    error: Nullable(Type.Ref(BuildErrorSchema)),
    logExpiredAt: Nullable(Type.String({ format: 'date-time', description: 'When the log was removed (SLIPWAY_LOG_RETENTION); null while it is kept' })),
    links: Type.Object({ self: Type.String(), logs: Type.String() }, { additionalProperties: false })
  },
  { $id: 'Build', additionalProperties: false }
)
export type Build = Static<typeof BuildSchema>
/** The build as stored: the resource without its derived links. */
export type BuildRecord = Omit<Build, 'links'>

export const BuildListSchema = Type.Object(
  {
    items: Type.Array(Type.Ref(BuildSchema)),
    nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page' }))
  },
  { $id: 'BuildList', additionalProperties: false }
)

// What a list of builds shows of each (the portal's builds table), and nothing that a running
// build rewrites as it goes (phases, steps, warnings): a page of them is the same bytes from one
// poll to the next until a build on it changes status, learns its commit, image or cache summary,
// or a new build arrives. Each field is named and shaped as in Build, so a client reads both alike.
const SUMMARY_FIELDS = ['id', 'status', 'commit', 'resolvedRef', 'createdAt', 'createdBy', 'startedAt', 'finishedAt', 'durationMs', 'ranOn', 'retryOf', 'cache'] as const

export const BuildSummarySchema = Type.Object(
  {
    ...Type.Pick(BuildSchema, SUMMARY_FIELDS).properties,
    request: Type.Pick(NormalizedRequestSchema, ['repo', 'ref', 'source', 'dockerfile', 'target', 'image', 'tags'], {
      additionalProperties: false,
      description: 'Of the request, what names what is built'
    }),
    // Open to more fields (Image's own additionalProperties left behind): the list's serializer
    // tells the sides of a nullable apart by validating the whole image against this one, and
    // writes only the fields named here either way.
    image: Nullable(Type.Object(Type.Pick(ImageSchema, ['tags', 'sizeBytes']).properties, { description: 'Of the image, its references and size' }))
  },
  {
    $id: 'BuildSummary',
    additionalProperties: false,
    description: `A build as a list shows it: of Build, ${SUMMARY_FIELDS.join(', ')}, and of its request and image the fields that name what was built. Phases, steps and the rest are at /v1/builds/{id}`
  }
)
export type BuildSummary = Static<typeof BuildSummarySchema>

export const BuildSummaryListSchema = Type.Object(
  {
    items: Type.Array(Type.Ref(BuildSummarySchema)),
    nextCursor: BuildListSchema.properties.nextCursor
  },
  { $id: 'BuildSummaryList', additionalProperties: false }
)

/** What each list entry carries: the whole build, or what a list shows of it. */
export const BUILD_LIST_VIEWS = ['full', 'summary'] as const
export type BuildListView = (typeof BUILD_LIST_VIEWS)[number]

export const BuildListQuerySchema = Type.Object(
  {
    status: Type.Optional(Type.Ref(BuildStatusSchema)),
    repo: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'Only builds of this repository URL' })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$', description: 'nextCursor of the previous page' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    view: Type.Optional(
      StringEnum(BUILD_LIST_VIEWS, {
        default: 'full',
        description: 'full: each item a Build (BuildList); summary: a BuildSummary (BuildSummaryList), what a list of builds shows, whose page stays the same while its builds run'
      })
    )
  },
  { additionalProperties: false }
)

export const buildSchemas = [
  BuildStatusSchema,
  ReportRequestSchema,
  ReportSchema,
  BuildRequestSchema,
  BuildUploadOptionsSchema,
  UploadSourceSchema,
  NormalizedRequestSchema,
  PhaseSchema,
  CacheMissSchema,
  StepSchema,
  BuildCacheSchema,
  RegistryCacheSchema,
  LayerSchema,
  ImageSchema,
  BuildErrorSchema,
  RanOnSchema,
  BaseImageSchema,
  PackagesSchema,
  AttestationSchema,
  SignatureSchema,
  BuildSchema,
  BuildListSchema,
  BuildSummarySchema,
  BuildSummaryListSchema
]
