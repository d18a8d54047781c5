import type { Redis } from 'ioredis'
import { RedisUnavailable } from '../domain/errors.js'
import { BUILD_STATUSES, type BuildStatus } from '../domain/schemas/build.js'
import type { RedisKeys } from './keys.js'

// How long listen() waits for the subscription before the caller answers 503.
const SUBSCRIBE_TIMEOUT_MS = 2000

/** A build record changed: its status now, or null when the retention sweeper removed it. */
export interface BuildChange {
  id: string
  status: BuildStatus | null
}

/** "<id> <status>" or "<id> gone", as the scripts that change a record publish it. */
function parseChange (message: string): BuildChange | null {
  const space = message.lastIndexOf(' ')
  const id = message.slice(0, space)
  const word = message.slice(space + 1)
  if (space <= 0) return null
  if (word === 'gone') return { id, status: null }
  return BUILD_STATUSES.includes(word as BuildStatus) ? { id, status: word as BuildStatus } : null
}

/**
 * Every change of a build record, heard by this process over one Redis subscription however many
 * requests wait on builds or answers are kept: the scripts that change a record publish the change
 * in the same step (commands/transitionBuild-2.lua, expireBuild.lua, expireLog-2.lua), so once
 * listen() has resolved no change is missed. If the subscription is lost, changes published
 * meanwhile are, and `live` is false until it is back; then the `resumed` listeners are called,
 * so that whoever relied on it reads again what it holds.
 */
export function createBuildChanges (deps: { redis: Redis; keys: RedisKeys }) {
  const { redis, keys } = deps
  const changed = new Set<(change: BuildChange) => void>()
  const resumed = new Set<() => void>()
  let subscriber: Redis | null = null
  let live = false
  let everLive = false
  let closed = false
  let whenLive: Promise<void> | null = null
  let markLive: (() => void) | null = null

  async function subscribe (connection: Redis): Promise<void> {
    try {
      await connection.subscribe(keys.buildChanges)
    } catch {
      // The connection went again: its next 'ready' subscribes.
      return
    }
    if (closed || connection !== subscriber) return
    live = true
    markLive?.()
    if (everLive) for (const listener of resumed) listener()
    everLive = true
  }

  function open (): Redis {
    const name = redis.options.connectionName ? `${redis.options.connectionName}:build-changes` : 'build-changes'
    // Subscribed again by subscribe() on every 'ready' (not by ioredis), so `live` turns true only
    // once Redis has confirmed it.
    const connection = redis.duplicate({ connectionName: name, lazyConnect: true, autoResubscribe: false, enableOfflineQueue: true, maxRetriesPerRequest: 1 })
    connection.on('error', () => undefined)
    connection.on('ready', () => {
      void subscribe(connection)
    })
    connection.on('close', () => {
      if (connection !== subscriber) return
      live = false
      whenLive = null
    })
    connection.on('message', (_channel: string, message: string) => {
      const change = parseChange(message)
      if (change) for (const listener of changed) listener(change)
    })
    connection.connect().catch(() => undefined)
    return connection
  }

  return {
    /** Whether every change is heard now (the subscription is in place). */
    get live (): boolean {
      return live
    },

    /** Resolves once this process is subscribed (at once when it is); 503 REDIS_UNAVAILABLE if Redis does not answer soon. */
    async listen (): Promise<void> {
      if (live) return
      if (closed) throw new RedisUnavailable()
      subscriber ??= open()
      whenLive ??= new Promise<void>((resolve) => (markLive = resolve))
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new RedisUnavailable()), SUBSCRIBE_TIMEOUT_MS)
      })
      try {
        await Promise.race([whenLive, timeout])
      } finally {
        clearTimeout(timer)
      }
    },

    /** Calls `listener` with every change heard. */
    onChange (listener: (change: BuildChange) => void): void {
      changed.add(listener)
    },

    /** Calls `listener` each time the subscription is back after it was lost. */
    onResume (listener: () => void): void {
      resumed.add(listener)
    },

    close (): void {
      closed = true
      live = false
      subscriber?.disconnect()
    }
  }
}

export type BuildChanges = ReturnType<typeof createBuildChanges>
