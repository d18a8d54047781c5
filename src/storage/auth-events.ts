import type { Redis } from 'ioredis'
import type { RedisKeys } from './keys.js'

/** What is announced on keys.authEvents: by token-store.ts (a revocation) and commands/admitToken.lua (an address held back). */
export type AuthEvent =
  | { kind: 'revoked'; tokenId: string }
  /** The address presented its last allowed unknown token; it is held back for `ms`. */
  | { kind: 'limited'; client: string; ms: number }

export interface AuthEventHandlers {
  onEvent(event: AuthEvent): void
  /**
   * True once the subscription is confirmed; false when the connection is lost, from which
   * moment events may be missed until the next true.
   */
  onListening(listening: boolean): void
}

/**
 * Listens to the auth events on a connection of its own (a subscribed connection can do nothing
 * else), named `<api connection>:auth-events` in CLIENT LIST. It reconnects by itself, subscribing
 * again each time, and says when it listens and when it may miss events.
 */
export function listenToAuthEvents (redis: Redis, keys: RedisKeys, handlers: AuthEventHandlers): { close(): Promise<void> } {
  const name = redis.options.connectionName ? `${redis.options.connectionName}:auth-events` : 'auth-events'
  // Subscribed again by hand on each 'ready', so that listening is only said once Redis confirmed it.
  const subscriber = redis.duplicate({ connectionName: name, enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: false, lazyConnect: true })
  let listening = false
  const setListening = (now: boolean) => {
    if (now === listening) return
    listening = now
    handlers.onListening(now)
  }
  // Its errors are the API connection's too, which reports them.
  subscriber.on('error', () => undefined)
  subscriber.on('close', () => setListening(false))
  subscriber.on('ready', () => {
    subscriber.subscribe(keys.authEvents).then(() => setListening(true), () => setListening(false))
  })
  subscriber.on('message', (_channel: string, message: string) => {
    handlers.onEvent(parseEvent(message))
  })
  subscriber.connect().catch(() => undefined)
  return {
    async close () {
      subscriber.removeAllListeners('close')
      await subscriber.quit().catch(() => subscriber.disconnect())
    }
  }
}

// A message this version cannot read is taken as a revocation: dropping the cache is always safe.
function parseEvent (message: string): AuthEvent {
  let event: Partial<AuthEvent> = {}
  try {
    event = JSON.parse(message) as Partial<AuthEvent>
  } catch {}
  if (event.kind === 'limited' && typeof event.client === 'string' && typeof event.ms === 'number') return { kind: 'limited', client: event.client, ms: event.ms }
  return { kind: 'revoked', tokenId: event.kind === 'revoked' && typeof event.tokenId === 'string' ? event.tokenId : '' }
}
