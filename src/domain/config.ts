import os from 'node:os'
import path from 'node:path'
import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { isNamedNetwork } from './builds/build-network.js'
import { pushAllowSettingProblem } from './builds/push-allow.js'
import { trustProxyOption } from './client-address.js'
import { secretsKeyProblem } from './secrets/secret-key.js'
import { signingKeyProblem } from './supply-chain/signing-key.js'
import { DURATION_EXPECTED, DURATION_PATTERN, retentionProblem } from './retention.js'

// Each setting is read from SLIPWAY_<SNAKE_CASE_KEY> unless its schema names another
// variable in `env` (DOCKER_HOST belongs to Docker, not to us). A schema's `problem`, given a
// value that fits it, says what else is wrong with the value (null: nothing).
const Bool = (description: string, value: boolean) => Type.Boolean({ default: value, description })
FormatRegistry.Set('trust-proxy', (value) => trustProxyOption(value) !== undefined)

export const ConfigSchema = Type.Object({
  role: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('worker')], {
    default: 'all',
    description: 'Which part runs in this process: the API, a build worker, or both'
  }),
  host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Address the API listens on' }),
  port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'Port the API listens on' }),
  metricsPort: Type.Integer({
    default: 9464,
    minimum: 0,
    maximum: 65535,
    description: 'Port of /metrics, /healthz and /readyz in a worker-only process (SLIPWAY_ROLE=worker), on SLIPWAY_HOST; the API serves them on its own port'
  }),
  publicUrl: Type.String({
    default: '',
    pattern: '^(https?://.+)?$',
    description: 'Base URL people reach the API at, for links in notifications; default http://HOST:PORT'
  }),
  redisUrl: Type.String({ default: 'redis://127.0.0.1:6379', pattern: '^rediss?://', description: 'Redis connection URL' }),
  prefix: Type.String({
    default: 'slipway',
    pattern: '^[A-Za-z0-9_{}.-]+$',
    description: 'Prefix of every Redis key and queue name'
  }),
  dockerHost: Type.String({
    default: '',
    env: 'DOCKER_HOST',
    description: "Docker Engine to build on (unix:///path or tcp://host:port); empty means Docker's own default"
  }),
  concurrency: Type.Integer({ default: 2, minimum: 1, maximum: 64, description: 'Builds one worker runs at once' }),
  workDir: Type.String({
    default: path.join(os.tmpdir(), 'slipway'),
    minLength: 1,
    description: 'Folder for clones and other per-build files'
  }),
  dockerConfig: Type.String({
    default: path.join(os.homedir(), '.docker', 'config.json'),
    minLength: 1,
    description: 'Docker config.json holding registry credentials (as `docker login` writes it)'
  }),
  builder: Type.Union([Type.Literal('auto'), Type.Literal('buildkit'), Type.Literal('classic')], {
    default: 'auto',
    description: "Builder for requests that don't name one; auto is BuildKit where the Docker Engine has it"
  }),
  // Docker's grammar of network names, which has no ':' (so no "container:<id>"), without "host".
  buildNetwork: Type.String({
    default: 'default',
    pattern: '^(?!host$)[A-Za-z0-9][A-Za-z0-9_.-]{1,127}$',
    expected: 'default, none, or the name of a Docker network (letters, digits, "_", "." and "-"); never host',
    description:
      "Network of builds' RUN steps: default (the Docker Engine's bridge), none, or a Docker network prepared with egress rules " +
      '(classic builder only; docs/operations/build-network.md shows how). A build may ask for none, never for more'
  }),
  buildTimeoutSeconds: Type.Integer({ default: 3600, minimum: 1, description: "Time limit of a build that doesn't name one" }),
  buildTimeoutMaxSeconds: Type.Integer({ default: 21_600, minimum: 1, description: 'The longest time limit a build may ask for' }),
  queueTtlSeconds: Type.Integer({
    default: 86_400,
    minimum: 1,
    description: 'A build queued longer than this ends failed with QUEUE_EXPIRED instead of starting'
  }),
  stallSeconds: Type.Integer({
    default: 30,
    minimum: 1,
    description: 'How soon a build whose worker died is noticed and handed to another worker'
  }),
  maxAttempts: Type.Integer({
    default: 3,
    minimum: 1,
    maximum: 10,
    description: 'How many workers may be lost running one build before it ends failed with WORKER_LOST'
  }),
  shutdownGraceSeconds: Type.Integer({
    default: 60,
    minimum: 0,
    description: 'On SIGTERM, how long running builds may go on before they are handed back to the queue'
  }),
  adminToken: Type.String({
    default: '',
    pattern: '^(|[\\x21-\\x7e]{24,})$',
    secret: true,
    description: 'A token with every scope, for the first start and for automation (24+ printable characters); empty: none'
  }),
  secretsKey: Type.String({
    default: '',
    secret: true,
    problem: secretsKeyProblem,
    expected: '32 random bytes as base64 or 64 hex digits, e.g. from `openssl rand -base64 32`',
    description:
      'The key build secrets are encrypted with in Redis (AES-256-GCM): 32 random bytes as base64 or hex; make one with `openssl rand -base64 32`. ' +
      'API and workers need the same one. Empty: the server holds no secrets and /v1/secrets answers 503 SECRETS_DISABLED'
  }),
  secretsKeyPrevious: Type.String({
    default: '',
    secret: true,
    problem: secretsKeyProblem,
    expected: 'as SLIPWAY_SECRETS_KEY, or empty',
    description:
      'While rotating SLIPWAY_SECRETS_KEY: the key before it, so values sealed with it still open until POST /v1/secrets/reencrypt has sealed them all with the new one; then remove it. See docs/operations/security.md'
  }),
  pushAllow: Type.String({
    default: '',
    problem: pushAllowSettingProblem,
    description:
      'Image repositories a token without patterns of its own may push to, comma-separated, e.g. "registry.example.com/team-a/*,localhost:5000/**" ("*": within one path component, "**": any number, "**" alone: anywhere); empty: nowhere'
  }),
  adminPushAnywhere: Bool('Let tokens with the admin scope (and SLIPWAY_ADMIN_TOKEN) push anywhere; otherwise they are limited as other tokens are', false),
  rateLimitPerMinute: Type.Integer({ default: 600, minimum: 1, description: 'Requests one token may make per minute; past it, 429 with Retry-After' }),
  rateLimitBatch: Type.Integer({
    default: 0,
    minimum: 0,
    maximum: 1000,
    description:
      'The most rate-limit slots an API process takes from Redis at once for one token (1, 2, 4… up to this within a minute), handing them out itself: never more than SLIPWAY_RATE_LIMIT_PER_MINUTE requests pass, but with N API processes one may be refused up to (N-1)×(this-1) requests early; 1 counts every request in Redis; 0: 1% of SLIPWAY_RATE_LIMIT_PER_MINUTE, at least 10 and at most 1000. See docs/operations/scaling.md'
  }),
  tokenCacheSeconds: Type.Integer({
    default: 5,
    minimum: 0,
    maximum: 60,
    description:
      'How long an API process trusts a token it read from Redis before reading it again. A revocation reaches every API process at once over Redis pub/sub (within a second), and while that subscription is down tokens are read every time; 0 reads them every time. See docs/operations/security.md'
  }),
  authFailuresPerMinute: Type.Integer({
    default: 30,
    minimum: 1,
    description: 'Unknown tokens one client address (an IPv6 /64) may present per minute; past it, every token check from it answers 429 until the minute ends'
  }),
  trustProxy: Type.String({
    default: 'false',
    format: 'trust-proxy',
    expected: 'false, true, a hop count, or comma-separated addresses and CIDRs',
    description: 'The proxies in front of the API whose X-Forwarded-For names the client: false (none), true (any), a hop count, or their addresses and CIDRs'
  }),
  quotaActiveBuilds: Type.Integer({
    default: 100,
    minimum: 1,
    description: 'Builds one token (or trigger rule) may have queued or running at once; past it, 429 QUOTA_EXCEEDED'
  }),
  buildAnswerCacheBytes: Type.Integer({
    default: 64 * 1024 ** 2,
    minimum: 0,
    description:
      'Bytes of ended builds\' answers each API process keeps in memory (GET /v1/builds/{id}), so the same answer is not read and written again; 0 keeps none'
  }),
  quotaLogFollowers: Type.Integer({
    default: 200,
    minimum: 1,
    description: 'Live log follows one token may hold open at once, across all API processes; past it, 429 QUOTA_EXCEEDED'
  }),
  quotaUploadBytes: Type.Integer({
    default: 1024 ** 3,
    minimum: 1024,
    description: "Bytes of one token's uploaded tars that may wait in Redis for their builds at once; past it, 429 QUOTA_EXCEEDED"
  }),
  allowHttpRepos: Bool('Accept plain http:// repository URLs (an internal git server without TLS)', false),
  repoAllowHosts: Type.String({
    default: '',
    description: 'Only clone from these hosts (comma-separated; "*.example.com" for subdomains); empty: any host'
  }),
  gitCredentialsFile: Type.String({
    default: '',
    description: 'A JSON file of per-host git credentials: { "host": { "username", "token" } or { "sshKeyFile" } }'
  }),
  cloneTimeoutSeconds: Type.Integer({ default: 600, minimum: 1, description: 'Longest a clone may take' }),
  cloneMaxBytes: Type.Integer({
    default: 2 * 1024 ** 3,
    minimum: 1024 * 1024,
    description: 'Largest a clone may grow on disk; also the most an uploaded tar may unpack to'
  }),
  uploadMaxBytes: Type.Integer({
    default: 100 * 1024 ** 2,
    minimum: 1024,
    // Uploads wait in Redis until their build ends, and a Redis string holds at most 512 MiB.
    maximum: 512 * 1024 ** 2,
    description: 'Largest gzipped tar POST /v1/builds accepts as a build source (at most 512 MiB: it waits in Redis)'
  }),
  mirrorDir: Type.String({
    default: '',
    description: "Folder of the worker host's git mirrors, shared by the workers of the host; default WORK_DIR/mirrors"
  }),
  mirrorMaxBytes: Type.Integer({
    default: 5 * 1024 ** 3,
    minimum: 1024 * 1024,
    description: 'The git mirrors together stay under this; the least recently used are removed first'
  }),
  contextMaxBytes: Type.Integer({ default: 1024 ** 3, minimum: 1024, description: 'Largest build context (after .dockerignore)' }),
  localImageNamespace: Type.String({
    default: 'slipway.local',
    maxLength: 50,
    // A host-like name with a dot: Docker reads its first component as a registry, never as a Docker Hub path.
    pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$',
    description:
      'Where images that are not pushed are tagged: <namespace>/<repository path>, so no build can retag an image outside it (a base image such as node:20). A host-like name with a dot, never pushed to'
  }),
  baseImagePull: Type.Union([Type.Literal('missing'), Type.Literal('always')], {
    default: 'missing',
    description:
      "Base images (FROM): missing uses the engine's copy when it has one and pulls otherwise; always pulls every FROM image from its registry at each build (Docker Hub must be reachable for Hub images)"
  }),
  registryCache: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description:
      'Registry cache (BuildKit only): on, a pushed image carries inline cache metadata and a build imports cache from the previous pushed build of the same repository, branch, Dockerfile, target and image ' +
      '(and from the images a request names in cacheFrom), so an engine that never built the repository reuses unchanged layers; off, neither, whatever requests ask. ' +
      'See docs/operations/registry-cache.md'
  }),
  sbom: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description:
      "Software bill of materials: on, a build that asks for it (requests' `sbom`, by default every pushed build) lists the packages of its image after the build; off, none does, whatever requests ask. " +
      'See docs/guides/sbom.md'
  }),
  provenance: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description:
      "Provenance: on, a build that asks for it (requests' `provenance`, by default every pushed build) has a SLSA v1 provenance statement of its image; off, none has, whatever requests ask. " +
      'See docs/guides/sbom.md'
  }),
  signingKey: Type.String({
    default: '',
    secret: true,
    problem: signingKeyProblem,
    description:
      "The key pushed images and their attestations are signed with, in cosign's format: an unencrypted ECDSA P-256 private key in PEM (newlines may be written as \\n). " +
      'Workers sign with it; API processes serve its public key at /v1/signing-key. Empty: nothing is signed, and each build says so. See docs/guides/sbom.md#signatures'
  }),
  buildMemoryBytes: Type.Integer({ default: 4 * 1024 ** 3, minimum: 64 * 1024 ** 2, description: 'Memory limit of each build step container (classic builder)' }),
  buildCpus: Type.Number({ default: 2, minimum: 0.1, maximum: 256, description: 'CPUs each build step container may use (classic builder)' }),
  buildCacheMaxBytes: Type.Integer({
    default: 10 * 1024 ** 3,
    minimum: 0,
    description:
      "The Docker Engine's build cache is pruned to this after builds (least recently used first, at most every 5 minutes per worker); 0 never prunes it. See docs/operations/disk.md"
  }),
  diskMinFreeBytes: Type.Integer({
    default: 5 * 1024 ** 3,
    minimum: 0,
    description:
      "Free space the Docker Engine's data root must keep: under it the worker prunes, and if still short takes no builds until space returns (/readyz says why); 0 turns the watermark off. See docs/operations/disk.md"
  }),
  allowLocalRepos: Bool('Accept file:// URLs and absolute paths as repositories (tests, air-gapped mirrors)', false),
  webhookAllow: Type.String({
    default: '',
    description: 'Hosts and CIDRs webhooks may reach although private or local (comma-separated), e.g. "hooks.internal,10.8.0.0/16"'
  }),
  githubApiUrl: Type.String({
    default: 'https://api.github.com',
    pattern: '^https?://[^\\s]+$',
    description: 'GitHub\'s REST API, where builds with a `report` set commit statuses and pull request comments: https://<host>/api/v3 for GitHub Enterprise Server'
  }),
  gitlabApiUrl: Type.String({
    default: 'https://gitlab.com/api/v4',
    pattern: '^https?://[^\\s]+$',
    description: 'GitLab\'s REST API, where builds with a `report` set commit statuses and merge request comments: https://<host>/api/v4 for a self-managed GitLab'
  }),
  webhookAttempts: Type.Integer({
    default: 14,
    minimum: 1,
    maximum: 50,
    description: 'Delivery attempts per webhook event before it is marked failed'
  }),
  webhookBackoffMs: Type.Integer({
    default: 5000,
    minimum: 100,
    description: 'Wait before the first retry; each retry waits about twice as long (with jitter): 14 attempts span about a day'
  }),
  logMaxBytes: Type.Integer({
    default: 16 * 1024 * 1024,
    minimum: 1024,
    description: 'Most bytes of log kept per build; past it a marker says how much was dropped'
  }),
  retention: Type.String({
    default: '90d',
    pattern: DURATION_PATTERN,
    expected: DURATION_EXPECTED,
    description:
      'How long a build record is kept after its build ended (15m, 12h, 90d); the retention sweeper then removes it with its log, and GET answers 410 BUILD_EXPIRED. Queued and running builds are never removed'
  }),
  retentionKeepLast: Type.Integer({
    default: 20,
    minimum: 0,
    maximum: 10_000,
    description: 'The newest this many builds of each repository and ref are kept whatever their age, so size history and the previous build keep working'
  }),
  logRetention: Type.String({
    default: '',
    pattern: `(${DURATION_PATTERN})|^$`,
    expected: `empty (as long as SLIPWAY_RETENTION) or ${DURATION_EXPECTED}`,
    description:
      'How long the log of an ended build is kept, at most SLIPWAY_RETENTION; after it the record says logExpiredAt and GET of the log answers 410 LOG_EXPIRED. Empty: as long as the record'
  }),
  auditRetention: Type.String({
    default: '365d',
    pattern: DURATION_PATTERN,
    expected: DURATION_EXPECTED,
    description: 'How long audit entries are kept; the retention sweeper trims older ones'
  }),
  logLevel: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info', description: 'Service log level' }
  ),
  logRequests: Type.Union([Type.Literal('api'), Type.Literal('changes'), Type.Literal('all'), Type.Literal('off')], {
    default: 'api',
    description:
      'Which requests the API logs, one line each (at info) when answered: api, those to /v1/…; changes, those to /v1/… but the reads answered 2xx or 3xx (polls); all, also probes, /metrics, the portal and the docs; off, none. See docs/operations/metrics.md'
  }),
  logReadsPerSecond: Type.Integer({
    default: 100,
    minimum: 1,
    maximum: 1_000_000,
    description:
      'The most reads answered 2xx or 3xx (GET, HEAD: polls) one API process logs in a second, where SLIPWAY_LOG_REQUESTS logs them; past it they are counted, and the next one logged says how many were left out (readsNotLogged). Changes, refusals and failures are always logged'
  })
})

export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export function envName (key: string): string {
  const schema = ConfigSchema.properties[key as keyof Config] as TSchema
  return (schema.env as string | undefined) ?? 'SLIPWAY_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase()
}

/** Reads the configuration from environment variables; throws ConfigError naming every bad variable. */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {}
  for (const [key, schema] of Object.entries(ConfigSchema.properties)) {
    const value = env[envName(key)]
    if (value === undefined || value === '') continue
    raw[key] = fromEnv(schema, value)
  }
  const config = Value.Default(ConfigSchema, raw)
  // A secret's value is never echoed, not even a wrong one.
  const shown = (key: string) => ((ConfigSchema.properties[key as keyof Config] as TSchema | undefined)?.secret ? '' : `=${JSON.stringify(raw[key])}`)
  const wrong = new Set<string>()
  const problems = [...Value.Errors(ConfigSchema, config)].map((error) => {
    const key = error.path.split('/')[1] ?? ''
    wrong.add(key)
    return `${envName(key)}${shown(key)}: ${describeProblem(error.schema, error.message)}`
  })
  for (const [key, schema] of Object.entries(ConfigSchema.properties)) {
    const problem = (schema as TSchema).problem as ((value: unknown) => string | null) | undefined
    const found = wrong.has(key) ? null : problem?.((config as Record<string, unknown>)[key])
    if (found) problems.push(`${envName(key)}${shown(key)}: ${found}`)
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`)
  }
  const valid = config as Config
  if (valid.builder === 'buildkit' && isNamedNetwork(valid.buildNetwork)) {
    throw new ConfigError(
      `Invalid configuration:\n  SLIPWAY_BUILDER=buildkit cannot run builds on SLIPWAY_BUILD_NETWORK=${valid.buildNetwork}: BuildKit through the ` +
        'Docker Engine API runs RUN steps only on default or none. Set SLIPWAY_BUILDER to auto or classic.'
    )
  }
  if (valid.secretsKeyPrevious && !valid.secretsKey) {
    throw new ConfigError('Invalid configuration:\n  SLIPWAY_SECRETS_KEY_PREVIOUS is set without SLIPWAY_SECRETS_KEY: during a rotation the new key is SLIPWAY_SECRETS_KEY and the old one SLIPWAY_SECRETS_KEY_PREVIOUS.')
  }
  const retention = retentionProblem(valid)
  if (retention) throw new ConfigError(`Invalid configuration:\n  ${retention}`)
  // Links must work from wherever people read them; without a public URL, the listen address.
  if (!valid.publicUrl) valid.publicUrl = `http://${valid.host.includes(':') ? `[${valid.host}]` : valid.host}:${valid.port}`
  if (!valid.mirrorDir) valid.mirrorDir = path.join(valid.workDir, 'mirrors')
  return valid
}

/** An environment string as the setting's type; anything not written exactly so stays text and is refused. */
function fromEnv (schema: TSchema, value: string): unknown {
  // Whole numbers only: "1.5", "1e3" or "0x10" are refused, never rounded.
  if (schema.type === 'integer') return /^-?\d+$/.test(value.trim()) ? Number(value) : value
  if (schema.type === 'number') return /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value
  if (schema.type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value
  return value
}

function describeProblem (schema: TSchema, fallback: string): string {
  const choices = (schema.anyOf as TSchema[] | undefined)?.map((option) => option.const as unknown)
  if (choices?.every((choice) => typeof choice === 'string')) return `must be one of ${choices.join(', ')}`
  if (schema.type === 'integer') return `must be a whole number from ${schema.minimum ?? '…'} to ${schema.maximum ?? '…'}`
  if (schema.type === 'number') return `must be a number from ${schema.minimum ?? '…'} to ${schema.maximum ?? '…'}`
  if (schema.secret) return 'is not a valid value (not shown: it is a secret)'
  if (schema.expected) return `must be ${schema.expected as string}`
  if (schema.type === 'boolean') return 'must be true or false'
  if (schema.pattern) return `must match ${schema.pattern}`
  return fallback
}

/** Every setting with its variable, default and meaning: docs/reference/configuration.md and `--help` come from here. */
export function describeConfig (): { variable: string; default: unknown; description: string }[] {
  return Object.entries(ConfigSchema.properties).map(([key, schema]) => ({
    variable: envName(key),
    default: (schema as TSchema).default as unknown,
    description: (schema as TSchema).description ?? ''
  }))
}
