import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError, ConfigSchema, describeConfig, loadConfig } from '../../src/domain/config.js'

/** Runs loadConfig and returns the ConfigError it throws (fails the test when it throws nothing else). */
function configError (t: Test, env: Record<string, string>): ConfigError | undefined {
  try {
    loadConfig(env)
  } catch (error) {
    t.type(error, ConfigError, 'throws a ConfigError')
    return error instanceof ConfigError ? error : undefined
  }
  t.fail(`loadConfig(${JSON.stringify(env)}) did not throw`)
  return undefined
}

t.test('an empty environment gives every default', async (t) => {
  t.strictSame(loadConfig({}), {
    role: 'all',
    host: '127.0.0.1',
    port: 8080,
    metricsPort: 9464,
    publicUrl: 'http://127.0.0.1:8080',
    redisUrl: 'redis://127.0.0.1:6379',
    prefix: 'slipway',
    dockerHost: '',
    concurrency: 2,
    workDir: path.join(os.tmpdir(), 'slipway'),
    mirrorDir: path.join(os.tmpdir(), 'slipway', 'mirrors'),
    mirrorMaxBytes: 5 * 1024 ** 3,
    dockerConfig: path.join(os.homedir(), '.docker', 'config.json'),
    builder: 'auto',
    buildNetwork: 'default',
    buildTimeoutSeconds: 3600,
    buildTimeoutMaxSeconds: 21_600,
    queueTtlSeconds: 86_400,
    stallSeconds: 30,
    maxAttempts: 3,
    shutdownGraceSeconds: 60,
    adminToken: '',
    secretsKey: '',
    secretsKeyPrevious: '',
    pushAllow: '',
    adminPushAnywhere: false,
    rateLimitPerMinute: 600,
    rateLimitBatch: 0,
    tokenCacheSeconds: 5,
    authFailuresPerMinute: 30,
    trustProxy: 'false',
    quotaActiveBuilds: 100,
    buildAnswerCacheBytes: 64 * 1024 ** 2,
    quotaLogFollowers: 200,
    quotaUploadBytes: 1024 ** 3,
    allowHttpRepos: false,
    repoAllowHosts: '',
    gitCredentialsFile: '',
    cloneTimeoutSeconds: 600,
    cloneMaxBytes: 2 * 1024 ** 3,
    uploadMaxBytes: 100 * 1024 ** 2,
    contextMaxBytes: 1024 ** 3,
    localImageNamespace: 'slipway.local',
    baseImagePull: 'missing',
    registryCache: 'on',
    sbom: 'on',
    provenance: 'on',
    signingKey: '',
    buildMemoryBytes: 4 * 1024 ** 3,
    buildCpus: 2,
    buildCacheMaxBytes: 10 * 1024 ** 3,
    diskMinFreeBytes: 5 * 1024 ** 3,
    allowLocalRepos: false,
    webhookAllow: '',
    githubApiUrl: 'https://api.github.com',
    gitlabApiUrl: 'https://gitlab.com/api/v4',
    webhookAttempts: 14,
    webhookBackoffMs: 5000,
    logMaxBytes: 16 * 1024 * 1024,
    retention: '90d',
    retentionKeepLast: 20,
    logRetention: '',
    auditRetention: '365d',
    logLevel: 'info',
    logRequests: 'api',
    logReadsPerSecond: 100
  })
})

t.test('an empty string counts as unset', async (t) => {
  const config = loadConfig({ SLIPWAY_PORT: '', SLIPWAY_ROLE: '', DOCKER_HOST: '' })
  t.equal(config.port, 8080)
  t.equal(config.role, 'all')
  t.equal(config.dockerHost, '')
})

t.test('each variable is read', async (t) => {
  const cases: [string, Record<string, string>, Partial<ReturnType<typeof loadConfig>>][] = [
    // Without SLIPWAY_PUBLIC_URL, links use the listen address.
    ['SLIPWAY_PORT', { SLIPWAY_PORT: '9090' }, { port: 9090, publicUrl: 'http://127.0.0.1:9090' }],
    ['SLIPWAY_PORT 0 (any free port)', { SLIPWAY_PORT: '0' }, { port: 0, publicUrl: 'http://127.0.0.1:0' }],
    ['SLIPWAY_PORT at its maximum', { SLIPWAY_PORT: '65535' }, { port: 65535, publicUrl: 'http://127.0.0.1:65535' }],
    ['SLIPWAY_CONCURRENCY', { SLIPWAY_CONCURRENCY: '8' }, { concurrency: 8 }],
    ['SLIPWAY_CONCURRENCY at its maximum', { SLIPWAY_CONCURRENCY: '64' }, { concurrency: 64 }],
    ['SLIPWAY_ALLOW_LOCAL_REPOS=true', { SLIPWAY_ALLOW_LOCAL_REPOS: 'true' }, { allowLocalRepos: true }],
    ['SLIPWAY_ALLOW_LOCAL_REPOS=false', { SLIPWAY_ALLOW_LOCAL_REPOS: 'false' }, { allowLocalRepos: false }],
    ['DOCKER_HOST', { DOCKER_HOST: 'tcp://10.0.0.5:2375' }, { dockerHost: 'tcp://10.0.0.5:2375' }],
    ['DOCKER_HOST unix socket', { DOCKER_HOST: 'unix:///run/docker.sock' }, { dockerHost: 'unix:///run/docker.sock' }],
    ['SLIPWAY_ROLE=api', { SLIPWAY_ROLE: 'api' }, { role: 'api' }],
    ['SLIPWAY_ROLE=worker', { SLIPWAY_ROLE: 'worker' }, { role: 'worker' }],
    ['SLIPWAY_HOST', { SLIPWAY_HOST: '0.0.0.0' }, { host: '0.0.0.0', publicUrl: 'http://0.0.0.0:8080' }],
    ['SLIPWAY_HOST IPv6', { SLIPWAY_HOST: '::1' }, { host: '::1', publicUrl: 'http://[::1]:8080' }],
    ['SLIPWAY_PUBLIC_URL', { SLIPWAY_PUBLIC_URL: 'https://slipway.example.com' }, { publicUrl: 'https://slipway.example.com' }],
    ['SLIPWAY_WEBHOOK_ALLOW', { SLIPWAY_WEBHOOK_ALLOW: '10.0.0.0/8,hooks.internal' }, { webhookAllow: '10.0.0.0/8,hooks.internal' }],
    ['SLIPWAY_WEBHOOK_ATTEMPTS', { SLIPWAY_WEBHOOK_ATTEMPTS: '3' }, { webhookAttempts: 3 }],
    ['SLIPWAY_WEBHOOK_BACKOFF_MS', { SLIPWAY_WEBHOOK_BACKOFF_MS: '250' }, { webhookBackoffMs: 250 }],
    ['SLIPWAY_REDIS_URL', { SLIPWAY_REDIS_URL: 'rediss://cache:6380/2' }, { redisUrl: 'rediss://cache:6380/2' }],
    ['SLIPWAY_PREFIX', { SLIPWAY_PREFIX: '{slipway-ci}' }, { prefix: '{slipway-ci}' }],
    // Without SLIPWAY_MIRROR_DIR, the mirrors live under the work dir.
    ['SLIPWAY_WORK_DIR', { SLIPWAY_WORK_DIR: '/var/lib/slipway' }, { workDir: '/var/lib/slipway', mirrorDir: '/var/lib/slipway/mirrors' }],
    ['SLIPWAY_MIRROR_DIR', { SLIPWAY_MIRROR_DIR: '/srv/mirrors' }, { mirrorDir: '/srv/mirrors' }],
    ['SLIPWAY_MIRROR_MAX_BYTES', { SLIPWAY_MIRROR_MAX_BYTES: '1073741824' }, { mirrorMaxBytes: 1024 ** 3 }],
    ['SLIPWAY_DOCKER_CONFIG', { SLIPWAY_DOCKER_CONFIG: '/etc/slipway/config.json' }, { dockerConfig: '/etc/slipway/config.json' }],
    ['SLIPWAY_LOG_MAX_BYTES', { SLIPWAY_LOG_MAX_BYTES: '2048' }, { logMaxBytes: 2048 }],
    ['SLIPWAY_LOG_LEVEL', { SLIPWAY_LOG_LEVEL: 'debug' }, { logLevel: 'debug' }],
    ['SLIPWAY_LOG_REQUESTS', { SLIPWAY_LOG_REQUESTS: 'all' }, { logRequests: 'all' }],
    ['SLIPWAY_LOG_REQUESTS', { SLIPWAY_LOG_REQUESTS: 'changes' }, { logRequests: 'changes' }],
    ['SLIPWAY_LOG_READS_PER_SECOND', { SLIPWAY_LOG_READS_PER_SECOND: '1000' }, { logReadsPerSecond: 1000 }],
    ['SLIPWAY_RATE_LIMIT_BATCH=1 (every request counted in Redis)', { SLIPWAY_RATE_LIMIT_BATCH: '1' }, { rateLimitBatch: 1 }],
    ['SLIPWAY_RATE_LIMIT_BATCH=0 (1% of the limit)', { SLIPWAY_RATE_LIMIT_BATCH: '0' }, { rateLimitBatch: 0 }],
    ['SLIPWAY_TOKEN_CACHE_SECONDS=0 (every token read from Redis)', { SLIPWAY_TOKEN_CACHE_SECONDS: '0' }, { tokenCacheSeconds: 0 }],
    ['SLIPWAY_RETENTION in minutes', { SLIPWAY_RETENTION: '15m' }, { retention: '15m' }],
    ['SLIPWAY_RETENTION in hours, logs in minutes', { SLIPWAY_RETENTION: '12h', SLIPWAY_LOG_RETENTION: '30m' }, { retention: '12h', logRetention: '30m' }],
    ['SLIPWAY_LOG_RETENTION as long as SLIPWAY_RETENTION', { SLIPWAY_LOG_RETENTION: '90d' }, { logRetention: '90d' }],
    ['SLIPWAY_RETENTION_KEEP_LAST=0', { SLIPWAY_RETENTION_KEEP_LAST: '0' }, { retentionKeepLast: 0 }],
    ['SLIPWAY_AUDIT_RETENTION', { SLIPWAY_AUDIT_RETENTION: '30d' }, { auditRetention: '30d' }],
    ['SLIPWAY_BUILDER', { SLIPWAY_BUILDER: 'classic' }, { builder: 'classic' }],
    ['SLIPWAY_BUILD_NETWORK=none', { SLIPWAY_BUILD_NETWORK: 'none' }, { buildNetwork: 'none' }],
    ['SLIPWAY_BUILD_NETWORK named', { SLIPWAY_BUILD_NETWORK: 'slipway-egress_1.a' }, { buildNetwork: 'slipway-egress_1.a' }],
    // BuildKit cannot join a named network; auto picks the classic builder for it.
    ['SLIPWAY_BUILD_NETWORK named, builder auto', { SLIPWAY_BUILD_NETWORK: 'egress', SLIPWAY_BUILDER: 'auto' }, { buildNetwork: 'egress' }],
    ['SLIPWAY_QUEUE_TTL_SECONDS', { SLIPWAY_QUEUE_TTL_SECONDS: '60' }, { queueTtlSeconds: 60 }],
    ['SLIPWAY_MAX_ATTEMPTS', { SLIPWAY_MAX_ATTEMPTS: '5' }, { maxAttempts: 5 }],
    ['SLIPWAY_BUILD_CPUS', { SLIPWAY_BUILD_CPUS: '1.5' }, { buildCpus: 1.5 }],
    ['SLIPWAY_BUILD_CACHE_MAX_BYTES=0 (never prune to a budget)', { SLIPWAY_BUILD_CACHE_MAX_BYTES: '0' }, { buildCacheMaxBytes: 0 }],
    ['SLIPWAY_DISK_MIN_FREE_BYTES', { SLIPWAY_DISK_MIN_FREE_BYTES: '1073741824' }, { diskMinFreeBytes: 1024 ** 3 }],
    ['SLIPWAY_UPLOAD_MAX_BYTES', { SLIPWAY_UPLOAD_MAX_BYTES: '1048576' }, { uploadMaxBytes: 1024 * 1024 }],
    ['SLIPWAY_ADMIN_TOKEN', { SLIPWAY_ADMIN_TOKEN: 'a-long-enough-admin-token-here' }, { adminToken: 'a-long-enough-admin-token-here' }],
    ['SLIPWAY_LOCAL_IMAGE_NAMESPACE', { SLIPWAY_LOCAL_IMAGE_NAMESPACE: 'builds.corp-1.example' }, { localImageNamespace: 'builds.corp-1.example' }],
    ['SLIPWAY_BASE_IMAGE_PULL', { SLIPWAY_BASE_IMAGE_PULL: 'always' }, { baseImagePull: 'always' }],
    ['SLIPWAY_REGISTRY_CACHE', { SLIPWAY_REGISTRY_CACHE: 'off' }, { registryCache: 'off' }],
    ['SLIPWAY_SBOM', { SLIPWAY_SBOM: 'off' }, { sbom: 'off' }],
    ['SLIPWAY_PROVENANCE', { SLIPWAY_PROVENANCE: 'off' }, { provenance: 'off' }],
    ['SLIPWAY_PUSH_ALLOW', { SLIPWAY_PUSH_ALLOW: 'localhost:5000/**,registry.example.com/team-a/*' }, { pushAllow: 'localhost:5000/**,registry.example.com/team-a/*' }],
    ['SLIPWAY_ADMIN_PUSH_ANYWHERE', { SLIPWAY_ADMIN_PUSH_ANYWHERE: 'true' }, { adminPushAnywhere: true }],
    ['SLIPWAY_QUOTA_ACTIVE_BUILDS', { SLIPWAY_QUOTA_ACTIVE_BUILDS: '5' }, { quotaActiveBuilds: 5 }],
    ['SLIPWAY_TRUST_PROXY hop count', { SLIPWAY_TRUST_PROXY: '1' }, { trustProxy: '1' }],
    ['SLIPWAY_TRUST_PROXY addresses', { SLIPWAY_TRUST_PROXY: '10.0.0.0/8, fd00::/8,192.0.2.1,loopback' }, { trustProxy: '10.0.0.0/8, fd00::/8,192.0.2.1,loopback' }]
  ]
  const defaults = loadConfig({})
  for (const [name, env, expected] of cases) {
    // Only the setting named changes: everything else keeps its default.
    t.strictSame(loadConfig(env), { ...defaults, ...expected }, name)
  }
})

t.test('SLIPWAY_DOCKER_HOST is not read: Docker\'s own DOCKER_HOST is', async (t) => {
  t.equal(loadConfig({ SLIPWAY_DOCKER_HOST: 'tcp://elsewhere:2375' }).dockerHost, '')
})

t.test('bad values throw a ConfigError naming the variable', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ SLIPWAY_PORT: 'abc' }, /SLIPWAY_PORT="abc": must be a whole number from 0 to 65535/],
    [{ SLIPWAY_PORT: '8080abc' }, /SLIPWAY_PORT=.*must be a whole number/],
    [{ SLIPWAY_PORT: '70000' }, /SLIPWAY_PORT=.*must be a whole number from 0 to 65535/],
    [{ SLIPWAY_PORT: '-1' }, /SLIPWAY_PORT=.*must be a whole number/],
    [{ SLIPWAY_ROLE: 'boss' }, /SLIPWAY_ROLE="boss": must be one of all, api, worker/],
    [{ SLIPWAY_REDIS_URL: 'http://x' }, /SLIPWAY_REDIS_URL="http:\/\/x": must match/],
    [{ SLIPWAY_CONCURRENCY: '0' }, /SLIPWAY_CONCURRENCY=.*must be a whole number from 1 to 64/],
    [{ SLIPWAY_CONCURRENCY: '65' }, /SLIPWAY_CONCURRENCY=.*must be a whole number from 1 to 64/],
    [{ SLIPWAY_ALLOW_LOCAL_REPOS: 'yes' }, /SLIPWAY_ALLOW_LOCAL_REPOS="yes": must be true or false/],
    [{ SLIPWAY_LOG_LEVEL: 'loud' }, /SLIPWAY_LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent/],
    [{ SLIPWAY_LOG_MAX_BYTES: '10' }, /SLIPWAY_LOG_MAX_BYTES=.*must be a whole number from 1024/],
    [{ SLIPWAY_LOG_REQUESTS: 'some' }, /SLIPWAY_LOG_REQUESTS="some": must be one of api, changes, all, off/],
    [{ SLIPWAY_TOKEN_CACHE_SECONDS: '61' }, /SLIPWAY_TOKEN_CACHE_SECONDS=.*must be a whole number from 0 to 60/],
    [{ SLIPWAY_RATE_LIMIT_BATCH: '1001' }, /SLIPWAY_RATE_LIMIT_BATCH=.*must be a whole number from 0 to 1000/],
    [{ SLIPWAY_PREFIX: 'a b' }, /SLIPWAY_PREFIX="a b": must match/],
    // Never the host's network, nor another container's.
    [{ SLIPWAY_BUILD_NETWORK: 'host' }, /SLIPWAY_BUILD_NETWORK="host": must be default, none, or the name of a Docker network .*; never host/],
    [{ SLIPWAY_BUILD_NETWORK: 'container:redis' }, /SLIPWAY_BUILD_NETWORK="container:redis": must be default, none, or the name/],
    [{ SLIPWAY_BUILD_NETWORK: '-x' }, /SLIPWAY_BUILD_NETWORK="-x": must be/],
    [{ SLIPWAY_BUILD_NETWORK: 'a b' }, /SLIPWAY_BUILD_NETWORK="a b": must be/],
    [{ SLIPWAY_BUILDER: 'buildkit', SLIPWAY_BUILD_NETWORK: 'egress' }, /SLIPWAY_BUILDER=buildkit cannot run builds on SLIPWAY_BUILD_NETWORK=egress.*auto or classic/],
    // Without a dot, Docker would read the namespace as a Docker Hub path (slipway/node is docker.io/slipway/node).
    [{ SLIPWAY_LOCAL_IMAGE_NAMESPACE: 'slipway' }, /SLIPWAY_LOCAL_IMAGE_NAMESPACE="slipway": must match/],
    [{ SLIPWAY_LOCAL_IMAGE_NAMESPACE: 'Slipway.Local' }, /SLIPWAY_LOCAL_IMAGE_NAMESPACE=.*must match/],
    [{ SLIPWAY_LOCAL_IMAGE_NAMESPACE: 'slipway.local:5000' }, /SLIPWAY_LOCAL_IMAGE_NAMESPACE=.*must match/],
    [{ SLIPWAY_LOCAL_IMAGE_NAMESPACE: 'slipway.local/team' }, /SLIPWAY_LOCAL_IMAGE_NAMESPACE=.*must match/],
    [{ SLIPWAY_BASE_IMAGE_PULL: 'never' }, /SLIPWAY_BASE_IMAGE_PULL="never": must be one of missing, always/],
    [{ SLIPWAY_REGISTRY_CACHE: 'true' }, /SLIPWAY_REGISTRY_CACHE="true": must be one of on, off/],
    [{ SLIPWAY_PUSH_ALLOW: 'localhost:5000/**,team-a/*' }, /SLIPWAY_PUSH_ALLOW="localhost:5000\/\*\*,team-a\/\*": 'team-a\/\*' does not start with a registry host/],
    [{ SLIPWAY_ADMIN_PUSH_ANYWHERE: 'yes' }, /SLIPWAY_ADMIN_PUSH_ANYWHERE="yes": must be true or false/],
    // An upload waits in Redis, whose strings hold at most 512 MiB.
    [{ SLIPWAY_UPLOAD_MAX_BYTES: String(513 * 1024 ** 2) }, /SLIPWAY_UPLOAD_MAX_BYTES=.*must be a whole number from 1024 to 536870912/],
    // Numbers that are not written as whole numbers are refused, never rounded.
    [{ SLIPWAY_PORT: '1.5' }, /SLIPWAY_PORT="1.5": must be a whole number/],
    [{ SLIPWAY_PORT: '1e3' }, /SLIPWAY_PORT="1e3": must be a whole number/],
    [{ SLIPWAY_PORT: '0x10' }, /SLIPWAY_PORT="0x10": must be a whole number/],
    [{ SLIPWAY_CONCURRENCY: '2.9' }, /SLIPWAY_CONCURRENCY="2.9": must be a whole number/],
    [{ SLIPWAY_TRUST_PROXY: '10.0.0.0/33' }, /SLIPWAY_TRUST_PROXY="10.0.0.0\/33": must be false, true, a hop count, or comma-separated addresses and CIDRs/],
    [{ SLIPWAY_TRUST_PROXY: 'lb.internal' }, /SLIPWAY_TRUST_PROXY="lb.internal": must be/],
    [{ SLIPWAY_QUOTA_LOG_FOLLOWERS: '0' }, /SLIPWAY_QUOTA_LOG_FOLLOWERS=.*must be a whole number from 1/],
    // Durations say how they are written; a bare number has no unit, and seconds are not one.
    [{ SLIPWAY_RETENTION: '90' }, /SLIPWAY_RETENTION="90": must be a duration: a whole number followed by m \(minutes\), h \(hours\) or d \(days\), e.g. 15m, 12h or 90d/],
    [{ SLIPWAY_RETENTION: '30s' }, /SLIPWAY_RETENTION="30s": must be a duration/],
    [{ SLIPWAY_RETENTION: '0d' }, /SLIPWAY_RETENTION="0d": must be a duration/],
    [{ SLIPWAY_RETENTION: '1.5d' }, /SLIPWAY_RETENTION="1.5d": must be a duration/],
    [{ SLIPWAY_LOG_RETENTION: '2 weeks' }, /SLIPWAY_LOG_RETENTION="2 weeks": must be empty \(as long as SLIPWAY_RETENTION\) or a duration/],
    [{ SLIPWAY_AUDIT_RETENTION: '1y' }, /SLIPWAY_AUDIT_RETENTION="1y": must be a duration/],
    [{ SLIPWAY_RETENTION_KEEP_LAST: '-1' }, /SLIPWAY_RETENTION_KEEP_LAST=.*must be a whole number from 0 to 10000/],
    // A log goes with its build: it cannot be kept longer.
    [{ SLIPWAY_RETENTION: '7d', SLIPWAY_LOG_RETENTION: '8d' }, /SLIPWAY_LOG_RETENTION=8d keeps logs longer than SLIPWAY_RETENTION=7d keeps their builds.*Set SLIPWAY_LOG_RETENTION to at most SLIPWAY_RETENTION/]
  ]
  for (const [env, message] of cases) {
    const error = configError(t, env)
    t.match(error?.message, message, JSON.stringify(env))
    t.equal(error?.name, 'ConfigError')
    t.equal(error?.message.split('\n').length, 2, `${JSON.stringify(env)}: one problem, one line`)
  }
})

t.test('several bad variables are all named at once', async (t) => {
  const error = configError(t, {
    SLIPWAY_PORT: 'abc',
    SLIPWAY_ROLE: 'boss',
    SLIPWAY_REDIS_URL: 'http://x',
    SLIPWAY_CONCURRENCY: '0',
    SLIPWAY_HOST: 'fine.example.com'
  })
  const message = error?.message ?? ''
  for (const variable of ['SLIPWAY_PORT', 'SLIPWAY_ROLE', 'SLIPWAY_REDIS_URL', 'SLIPWAY_CONCURRENCY']) {
    t.match(message, new RegExp(`^  ${variable}=`, 'm'), `names ${variable} on a line of its own`)
  }
  t.notMatch(message, /SLIPWAY_HOST/, 'does not name the good variable')
  t.equal(message.split('\n').length, 5, 'a heading and one line per bad variable')
})

t.test('describeConfig lists every variable, with its default and a description', async (t) => {
  const described = describeConfig()
  t.strictSame(
    described.map((entry) => entry.variable),
    [
      'SLIPWAY_ROLE',
      'SLIPWAY_HOST',
      'SLIPWAY_PORT',
      'SLIPWAY_METRICS_PORT',
      'SLIPWAY_PUBLIC_URL',
      'SLIPWAY_REDIS_URL',
      'SLIPWAY_PREFIX',
      'DOCKER_HOST',
      'SLIPWAY_CONCURRENCY',
      'SLIPWAY_WORK_DIR',
      'SLIPWAY_DOCKER_CONFIG',
      'SLIPWAY_BUILDER',
      'SLIPWAY_BUILD_NETWORK',
      'SLIPWAY_BUILD_TIMEOUT_SECONDS',
      'SLIPWAY_BUILD_TIMEOUT_MAX_SECONDS',
      'SLIPWAY_QUEUE_TTL_SECONDS',
      'SLIPWAY_STALL_SECONDS',
      'SLIPWAY_MAX_ATTEMPTS',
      'SLIPWAY_SHUTDOWN_GRACE_SECONDS',
      'SLIPWAY_ADMIN_TOKEN',
      'SLIPWAY_SECRETS_KEY',
      'SLIPWAY_SECRETS_KEY_PREVIOUS',
      'SLIPWAY_PUSH_ALLOW',
      'SLIPWAY_ADMIN_PUSH_ANYWHERE',
      'SLIPWAY_RATE_LIMIT_PER_MINUTE',
      'SLIPWAY_RATE_LIMIT_BATCH',
      'SLIPWAY_TOKEN_CACHE_SECONDS',
      'SLIPWAY_AUTH_FAILURES_PER_MINUTE',
      'SLIPWAY_TRUST_PROXY',
      'SLIPWAY_QUOTA_ACTIVE_BUILDS',
      'SLIPWAY_BUILD_ANSWER_CACHE_BYTES',
      'SLIPWAY_QUOTA_LOG_FOLLOWERS',
      'SLIPWAY_QUOTA_UPLOAD_BYTES',
      'SLIPWAY_ALLOW_HTTP_REPOS',
      'SLIPWAY_REPO_ALLOW_HOSTS',
      'SLIPWAY_GIT_CREDENTIALS_FILE',
      'SLIPWAY_CLONE_TIMEOUT_SECONDS',
      'SLIPWAY_CLONE_MAX_BYTES',
      'SLIPWAY_UPLOAD_MAX_BYTES',
      'SLIPWAY_MIRROR_DIR',
      'SLIPWAY_MIRROR_MAX_BYTES',
      'SLIPWAY_CONTEXT_MAX_BYTES',
      'SLIPWAY_LOCAL_IMAGE_NAMESPACE',
      'SLIPWAY_BASE_IMAGE_PULL',
      'SLIPWAY_REGISTRY_CACHE',
      'SLIPWAY_SBOM',
      'SLIPWAY_PROVENANCE',
      'SLIPWAY_SIGNING_KEY',
      'SLIPWAY_BUILD_MEMORY_BYTES',
      'SLIPWAY_BUILD_CPUS',
      'SLIPWAY_BUILD_CACHE_MAX_BYTES',
      'SLIPWAY_DISK_MIN_FREE_BYTES',
      'SLIPWAY_ALLOW_LOCAL_REPOS',
      'SLIPWAY_WEBHOOK_ALLOW',
      'SLIPWAY_GITHUB_API_URL',
      'SLIPWAY_GITLAB_API_URL',
      'SLIPWAY_WEBHOOK_ATTEMPTS',
      'SLIPWAY_WEBHOOK_BACKOFF_MS',
      'SLIPWAY_LOG_MAX_BYTES',
      'SLIPWAY_RETENTION',
      'SLIPWAY_RETENTION_KEEP_LAST',
      'SLIPWAY_LOG_RETENTION',
      'SLIPWAY_AUDIT_RETENTION',
      'SLIPWAY_LOG_LEVEL',
      'SLIPWAY_LOG_REQUESTS',
      'SLIPWAY_LOG_READS_PER_SECOND'
    ]
  )
  t.equal(described.length, Object.keys(ConfigSchema.properties).length, 'one row per setting')
  const defaults = loadConfig({})
  const keys = Object.keys(ConfigSchema.properties) as (keyof typeof defaults)[]
  for (const [index, entry] of described.entries()) {
    const key = keys[index]!
    // Derived defaults say what they are derived from.
    if (key === 'publicUrl') t.match(entry.description, /HOST:PORT/)
    else if (key === 'mirrorDir') t.match(entry.description, /WORK_DIR\/mirrors/)
    else t.equal(entry.default, defaults[key], `${entry.variable}: its default is the one loadConfig uses`)
    t.ok(entry.description.length > 10, `${entry.variable} has a description`)
  }
  // Each listed variable really is read.
  t.equal(loadConfig({ SLIPWAY_WORK_DIR: '/w' }).workDir, '/w')
})

t.test('SLIPWAY_SECRETS_KEY: 32 bytes as base64 or hex; anything else is refused at start-up, saying how to make one, without showing it', async (t) => {
  const base64 = Buffer.alloc(32, 7).toString('base64')
  const hex = Buffer.alloc(32, 9).toString('hex')
  t.equal(loadConfig({ SLIPWAY_SECRETS_KEY: base64 }).secretsKey, base64)
  t.equal(loadConfig({ SLIPWAY_SECRETS_KEY: hex, SLIPWAY_SECRETS_KEY_PREVIOUS: base64 }).secretsKeyPrevious, base64)
  for (const [variable, bad] of [['SLIPWAY_SECRETS_KEY', 'hunter2-too-short'], ['SLIPWAY_SECRETS_KEY', Buffer.alloc(24, 1).toString('base64')], ['SLIPWAY_SECRETS_KEY_PREVIOUS', 'f'.repeat(63)]] as const) {
    const error = t.throws(() => loadConfig({ SLIPWAY_SECRETS_KEY: base64, [variable]: bad }), ConfigError) as Error
    t.match(error.message, new RegExp(`${variable}: must be 32 random bytes.*openssl rand -base64 32`), variable)
    t.notMatch(error.message, bad, 'the value is not shown')
  }
  const alone = t.throws(() => loadConfig({ SLIPWAY_SECRETS_KEY_PREVIOUS: base64 }), ConfigError) as Error
  t.match(alone.message, /SLIPWAY_SECRETS_KEY_PREVIOUS is set without SLIPWAY_SECRETS_KEY/)
})
