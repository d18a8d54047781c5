import type { Redis } from 'ioredis'
import type { RedisKeys } from './keys.js'
import { withCommands } from './redis-commands.js'
import { AUDIT_KINDS, type Actor, type AuditAction, type AuditEntry, type AuditKind } from '../domain/schemas/audit.js'

// One entry goes to the trail and to its actor's and kind's streams under the same id, in one
// script (commands/appendAudit-3.lua), so a filtered page and the whole trail never disagree.

// A page with both filters reads one of them and checks the other; it looks at no more than this.
const MAX_SCANNED_PER_PAGE = 1000

export interface AuditQuery {
  actor?: string | undefined
  kind?: AuditKind | undefined
  cursor?: string | undefined
  limit: number
}

export type AuditRecord = Omit<AuditEntry, 'id' | 'at'>

/** Who did what to which build, token, webhook or trigger rule: written once, read newest first. */
export function createAuditLog (connection: Redis, keys: RedisKeys) {
  const redis = withCommands(connection)
  return {
    async record (entry: AuditRecord): Promise<void> {
      const fields = { at: new Date().toISOString(), actor: JSON.stringify(entry.actor), action: entry.action, kind: entry.kind, resourceId: entry.resourceId, summary: entry.summary }
      await redis.appendAudit(keys.audit, keys.auditByActor(entry.actor.id), keys.auditByKind(entry.kind), ...Object.entries(fields).flat())
    },

    /**
     * Drops the entries older than `before` (ms) from the trail and from every actor's and kind's
     * stream (XTRIM MINID: an entry's id is its time), looking at `perStep` streams a step; how
     * many entries went.
     */
    async trimBefore (before: number, perStep = 100): Promise<number> {
      const minId = `${Math.max(0, Math.floor(before))}-0`
      let removed = await redis.xtrim(keys.audit, 'MINID', minId)
      let cursor = '0'
      do {
        // SCAN, never KEYS: a step at a time, so Redis serves others between them.
        const [next, streams] = await redis.scan(cursor, 'MATCH', keys.auditByActor('*'), 'COUNT', perStep)
        const kinds = cursor === '0' ? AUDIT_KINDS.map((kind) => keys.auditByKind(kind)) : []
        const pipeline = redis.pipeline()
        for (const stream of [...streams, ...kinds]) pipeline.xtrim(stream, 'MINID', minId)
        for (const [error, count] of (await pipeline.exec()) ?? []) if (!error) removed += count as number
        cursor = next
      } while (cursor !== '0')
      return removed
    },

    /** Newest first; the cursor is the last id of the previous page. */
    async list (query: AuditQuery): Promise<{ items: AuditEntry[]; nextCursor: string | null }> {
      const stream = query.actor !== undefined ? keys.auditByActor(query.actor) : query.kind !== undefined ? keys.auditByKind(query.kind) : keys.audit
      const items: AuditEntry[] = []
      let cursor = query.cursor
      let scanned = 0
      while (scanned < MAX_SCANNED_PER_PAGE) {
        const batchSize = Math.min(query.limit + 1, MAX_SCANNED_PER_PAGE - scanned)
        const batch = await redis.xrevrange(stream, cursor ? `(${cursor}` : '+', '-', 'COUNT', batchSize)
        for (const [id, fields] of batch) {
          const entry = decodeEntry(id, fields)
          if (query.kind !== undefined && entry.kind !== query.kind) {
            cursor = id
            continue
          }
          if (items.length === query.limit) return { items, nextCursor: cursor ?? null }
          items.push(entry)
          cursor = id
        }
        scanned += batch.length
        if (batch.length < batchSize) return { items, nextCursor: null }
      }
      return { items, nextCursor: cursor ?? null }
    }
  }
}

export type AuditLog = ReturnType<typeof createAuditLog>

function decodeEntry (id: string, fields: string[]): AuditEntry {
  const value: Record<string, string> = {}
  for (let i = 0; i < fields.length; i += 2) value[fields[i]!] = fields[i + 1]!
  return {
    id,
    at: value.at!,
    actor: JSON.parse(value.actor!) as Actor,
    action: value.action as AuditAction,
    kind: value.kind as AuditKind,
    resourceId: value.resourceId!,
    summary: value.summary!
  }
}
