import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { RedisKeys } from './keys.js'

/** Which comment: one per pull (merge) request of a forge repository and report context. */
export interface CommentPlace {
  provider: string
  repo: string
  number: number
  context: string
}

/** The comment's id on the forge, and the build whose results it shows. */
export interface KeptComment {
  commentId: string
  buildId: string
}

// Held longer than any one delivery's calls take (a few requests of at most 10 s each), and let
// go when they end; a worker that died holding it only delays the next writer this long.
const LOCK_MS = 60_000
const KEEP_SECONDS = 30 * 86_400

/**
 * The comments Slipway keeps on pull and merge requests: where each is, so an update edits it
 * instead of writing another, and which build it shows, so an older build's results never replace
 * a newer one's. Kept 30 days, or SLIPWAY_RETENTION when shorter; without a record the
 * comment is found again by its marker on the forge.
 */
export function createReportComments (redis: Redis, keys: RedisKeys, keepAtMostSeconds = Infinity) {
  const keepSeconds = Math.min(KEEP_SECONDS, keepAtMostSeconds)
  const keyOf = (place: CommentPlace) => keys.reportComment(place.provider, place.repo, place.number, place.context)
  return {
    async get (place: CommentPlace): Promise<KeptComment | null> {
      const value = await redis.get(keyOf(place))
      return value === null ? null : (JSON.parse(value) as KeptComment)
    },

    async set (place: CommentPlace, comment: KeptComment): Promise<void> {
      await redis.set(keyOf(place), JSON.stringify(comment), 'EX', Math.max(1, Math.floor(keepSeconds)))
    },

    /** Holds the comment for one writer; null when another holds it. The function returned lets go (only of our own hold). */
    async lock (place: CommentPlace): Promise<(() => Promise<void>) | null> {
      const key = keys.reportCommentLock(place.provider, place.repo, place.number, place.context)
      const holder = randomBytes(8).toString('hex')
      if ((await redis.set(key, holder, 'PX', LOCK_MS, 'NX')) === null) return null
      return async () => {
        if ((await redis.get(key)) === holder) await redis.del(key)
      }
    }
  }
}

export type ReportComments = ReturnType<typeof createReportComments>
