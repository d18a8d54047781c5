import type Docker from 'dockerode'
import type { Redis } from 'ioredis'
import { Gauge, type Registry } from 'prom-client'
import type { Readiness } from '../domain/schemas/health.js'
import type { RedisMemory } from '../domain/schemas/storage.js'

/** What a process needs to do its work: Redis always, a Docker Engine only where builds run. */
export interface Dependencies {
  redis: Redis
  /** null in an API-only process: it never talks to Docker. */
  docker: Docker | null
  /** Where builds run: why the worker takes no builds now (its host is short of disk space), or null. */
  paused?: () => string | null
  /** Redis's memory, for the warning near its maxmemory; null when Redis does not say. */
  redisMemory?: () => Promise<RedisMemory | null>
}

// A probe answers quickly or counts as down: a load balancer or a scrape must not wait on it.
const PROBE_TIMEOUT_MS = 2000

export async function redisReachable (redis: Redis): Promise<boolean> {
  // A worker's client queues commands while disconnected (it waits for Redis to return): a ping
  // sent then would only answer once Redis is back, so a client not connected is down at once.
  if (redis.status !== 'ready') return false
  const pinged = redis.ping().then(
    () => true,
    () => false
  )
  return withinProbeTime(pinged, false)
}

/** What `answer` resolves to, or `late` if it takes longer than a probe may. */
async function withinProbeTime<T> (answer: Promise<T>, late: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(late), PROBE_TIMEOUT_MS)))
  try {
    return await Promise.race([answer, timedOut])
  } finally {
    clearTimeout(timer)
  }
}

export async function dockerReachable (docker: Docker): Promise<boolean> {
  // @types/dockerode leaves out ping's options; dockerode hands abortSignal to the request.
  const ping = docker.ping.bind(docker) as unknown as (options: { abortSignal: AbortSignal }) => Promise<unknown>
  return ping({ abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).then(
    () => true,
    () => false
  )
}

/**
 * Ready when every dependency this process has answers. Warnings (Redis near its maxmemory) leave
 * it ready: they are for an operator to act on before something fails.
 */
export async function checkReadiness (dependencies: Dependencies): Promise<Readiness> {
  const [redis, docker] = await Promise.all([
    redisReachable(dependencies.redis),
    dependencies.docker ? dockerReachable(dependencies.docker) : null
  ])
  const paused = dependencies.paused?.() ?? null
  const memory = redis && dependencies.redisMemory ? await withinProbeTime(dependencies.redisMemory(), null) : null
  const warnings = memory?.warning ? [memory.warning] : []
  return { status: redis && docker !== false && paused === null ? 'ready' : 'unavailable', redis, docker, ...(dependencies.paused ? { paused } : {}), warnings }
}

/** slipway_redis_up and (where builds run) slipway_docker_up, probed at each scrape. */
export function registerReachabilityMetrics (registry: Registry, dependencies: Dependencies): void {
  // Registered here only, not also in prom-client's global registry (`registers: []`).
  registry.registerMetric(new Gauge({
    name: 'slipway_redis_up',
    help: 'Whether this process reaches Redis (1) or not (0), probed at scrape time',
    registers: [],
    async collect () {
      this.set(Number(await redisReachable(dependencies.redis)))
    }
  }))
  const docker = dependencies.docker
  if (!docker) return
  registry.registerMetric(new Gauge({
    name: 'slipway_docker_up',
    help: 'Whether this process reaches the Docker Engine it builds on (1) or not (0), probed at scrape time',
    registers: [],
    async collect () {
      this.set(Number(await dockerReachable(docker)))
    }
  }))
}
