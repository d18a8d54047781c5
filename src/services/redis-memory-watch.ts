import type { RedisMemory } from '../domain/schemas/storage.js'

// Every process watches, so whichever log an operator reads says it; each says it once when it
// starts to apply and once when it stops, not at every look.
const WATCH_INTERVAL_MS = 60_000

/** Logs a warning when Redis's memory nears maxmemory (or its policy evicts), and when that passes. */
export function watchRedisMemory (deps: {
  read: () => Promise<RedisMemory | null>
  logger: { warn(details: object, message: string): void; info(details: object, message: string): void }
  intervalMs?: number
}): { close(): void } {
  let said: string | null = null
  let looking: Promise<void> | null = null
  const look = async () => {
    const memory = await deps.read()
    // Redis that does not answer is the readiness probe's to report.
    if (memory === null || memory.warning === said) return
    const { usedBytes, maxBytes, policy } = memory
    if (memory.warning !== null) deps.logger.warn({ redis: { usedBytes, maxBytes, policy } }, memory.warning)
    else deps.logger.info({ redis: { usedBytes, maxBytes, policy } }, "Redis's memory is clear of its maxmemory again")
    said = memory.warning
  }
  // One look at a time: on a connection that waits out an outage, a look may take that long.
  const tick = () => {
    looking ??= look().catch(() => undefined).finally(() => (looking = null))
  }
  tick()
  const timer = setInterval(tick, deps.intervalMs ?? WATCH_INTERVAL_MS)
  timer.unref()
  // A look in flight ends with the connection, which is closed after this.
  return { close: () => clearInterval(timer) }
}
