import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { PassThrough, type Readable } from 'node:stream'
import type { ChainableCommander, Redis } from 'ioredis'
import { BodyInvalid, UploadTooLarge } from '../domain/errors.js'
import { formatBytes } from '../domain/format.js'
import { newId } from '../domain/ids.js'
import type { RedisKeys } from './keys.js'
import type { Config } from '../domain/config.js'
import { withCommands } from './redis-commands.js'
import { quotaExceeded } from '../domain/quotas.js'
import type { Actor } from '../domain/schemas/audit.js'
import type { UploadSource } from '../domain/schemas/build.js'
import { readSafeTar, type TarLimits } from '../domain/uploads/safe-tar.js'

// An uploaded tar waits in Redis, under its build's key, for whichever worker takes the build:
// workers may run on other hosts than the API that received it. It leaves when the build ends
// (see the build store), or at the latest when its time to live runs out.
//
// What waits is counted per token against SLIPWAY_QUOTA_UPLOAD_BYTES, in a hash of the token's
// uploads (upload id → bytes stored). Each piece is counted in the script that stores it, so
// concurrent uploads cannot together pass the quota. An upload that has left Redis, whichever
// way, is taken out of the count when the count would refuse something, never by the paths that
// remove it. Pieces are stored by commands/storeUploadPiece-2.lua.

export interface UploadLimits extends TarLimits {
  /** The gzipped tar's own size. */
  maxBytes: number
}

/** An upload stored under the id of the build it is for. */
export interface StoredUpload {
  id: string
  source: UploadSource
}

// The API appends a body to Redis, and a worker reads it back, this many bytes at a time: neither
// holds more of it in memory than that.
const PIECE_BYTES = 1024 * 1024

/**
 * Longer than any build can wait and run: the queue's time to live, then every start a build may
 * have, each as long as the longest time limit. A key that outlives that was left behind.
 */
export function uploadTtlSeconds (config: Pick<Config, 'queueTtlSeconds' | 'maxAttempts' | 'buildTimeoutMaxSeconds' | 'stallSeconds'>): number {
  return config.queueTtlSeconds + config.maxAttempts * (config.buildTimeoutMaxSeconds + config.stallSeconds) + 3600
}

export function createUploadStore (deps: { redis: Redis; keys: RedisKeys; limits: UploadLimits; ttlSeconds: number; quotaBytes: number }) {
  const { keys, limits, quotaBytes } = deps
  const redis = withCommands(deps.redis)
  const tooLarge = () =>
    new UploadTooLarge(
      `The upload is larger than ${formatBytes(limits.maxBytes)} (SLIPWAY_UPLOAD_MAX_BYTES). Leave out what the build does not need: ` +
        'list it in .dockerignore and pack only the rest, or build from the repository instead.'
    )

  /** Takes the uploads that have left Redis out of the actor's count; whether there were any. */
  async function forgetLeft (actorId: string): Promise<boolean> {
    const ids = await redis.hkeys(keys.uploadBytes(actorId))
    if (ids.length === 0) return false
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.exists(keys.upload(id))
    const present = ((await pipeline.exec()) ?? []).map(([error, exists]) => error !== null || exists === 1)
    // An id is counted by the script that stores its first piece, so one without an upload has left.
    const left = ids.filter((_id, i) => !present[i])
    if (left.length > 0) await redis.hdel(keys.uploadBytes(actorId), ...left)
    return left.length > 0
  }

  /** How many more bytes the actor may upload now, for an upload of up to `wanted` bytes. */
  async function allowance (actorId: string, wanted: number): Promise<number> {
    const used = async () => (await redis.hvals(keys.uploadBytes(actorId))).reduce((sum, bytes) => sum + Number(bytes), 0)
    const before = await used()
    if (before + wanted <= quotaBytes || !(await forgetLeft(actorId))) return quotaBytes - before
    return quotaBytes - (await used())
  }

  return {
    /**
     * Streams a gzipped tar into Redis under a new build id while checking every entry of it, so a
     * body that is not a safe gzipped tar is refused before any build is made of it. The actor's
     * remaining upload allowance bounds what is read: a declared length past it is refused before
     * anything is read.
     */
    async receive (body: Readable, options: { declaredBytes?: number | undefined; actor: Actor }): Promise<StoredUpload> {
      const { declaredBytes, actor } = options
      if (declaredBytes !== undefined && declaredBytes > limits.maxBytes) throw tooLarge()
      const overQuota = () => quotaExceeded('quotaUploadBytes', quotaBytes, actor)
      const allowed = await allowance(actor.id, Math.min(declaredBytes ?? limits.maxBytes, limits.maxBytes))
      if (allowed <= 0 || (declaredBytes !== undefined && declaredBytes > allowed)) throw overQuota()
      const id = newId()
      const key = keys.upload(id)
      const hash = createHash('sha256')
      const tar = new PassThrough()
      // Its failures reach us through `checking`.
      tar.on('error', () => undefined)
      const checking = readSafeTar(tar, limits, async (_entry, content) => { content.resume() })
      // Awaited below; until then a failure only needs to stop the loop.
      checking.catch(() => undefined)
      let size = 0
      let piece: Buffer[] = []
      let stored = false
      const storePiece = async (data: Buffer) =>
        (await redis.storeUploadPiece(key, keys.uploadBytes(actor.id), id, data, deps.ttlSeconds, quotaBytes, stored ? '0' : '1')) === 1
      const flush = async () => {
        if (piece.length === 0) return
        const data = Buffer.concat(piece)
        piece = []
        // The first piece sets the time to live with the key, so no key is ever left without one.
        // Refused, it may have been for uploads that have left since they were counted.
        if (!(await storePiece(data)) && !((await forgetLeft(actor.id)) && (await storePiece(data)))) throw overQuota()
        stored = true
      }
      try {
        let pending = 0
        for await (const chunk of brokenOffAsInvalid(body)) {
          size += chunk.length
          if (size > limits.maxBytes) throw tooLarge()
          if (size > allowed) throw overQuota()
          hash.update(chunk)
          piece.push(chunk)
          pending += chunk.length
          if (pending >= PIECE_BYTES) {
            await flush()
            pending = 0
          }
          if (!tar.write(chunk)) await Promise.race([once(tar, 'drain'), checking])
        }
        tar.end()
        await flush()
        await checking
      } catch (error) {
        tar.destroy()
        await redis.del(key).catch(() => undefined)
        throw error
      }
      return { id, source: { type: 'upload', sizeBytes: size, sha256: hash.digest('hex') } }
    },

    /** Removes an upload no build was made of (a repeat, a join, or a refused request). */
    async discard (id: string): Promise<void> {
      await redis.del(keys.upload(id))
    }
  }
}

export type UploadStore = ReturnType<typeof createUploadStore>

/** An upload as a worker reads it back, by the id of its build. */
export function createStoredUploads (redis: Redis, keys: RedisKeys) {
  return {
    /** Whether the upload is still stored (its time to live may have run out). */
    async has (id: string): Promise<boolean> {
      return (await redis.exists(keys.upload(id))) === 1
    },
    /** Its bytes, piece by piece; nothing for an upload that is not there. */
    read: (id: string): AsyncGenerator<Buffer> => readPieces(redis, keys.upload(id))
  }
}

export type StoredUploads = ReturnType<typeof createStoredUploads>

/** Removes a build's upload, in the caller's transaction (the build store's, as the build ends). */
export function dropUpload (transaction: ChainableCommander, keys: RedisKeys, id: string): void {
  transaction.unlink(keys.upload(id))
}

async function * readPieces (redis: Redis, key: string): AsyncGenerator<Buffer> {
  for (let offset = 0; ; offset += PIECE_BYTES) {
    const piece = await redis.getrangeBuffer(key, offset, offset + PIECE_BYTES - 1)
    if (piece.length > 0) yield piece
    if (piece.length < PIECE_BYTES) return
  }
}

/** A body that fails while it is read was cut off by its sender (or was malformed multipart). */
async function * brokenOffAsInvalid (body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of body) yield chunk
  } catch (error) {
    throw new BodyInvalid(`The upload broke off before its end (${(error as Error).message}).`)
  }
}
