import { Type, type Static } from '@sinclair/typebox'
import { Nullable, Timestamp } from './common.js'

// What GET /v1/admin/storage answers: what Slipway keeps, where, and how much of it, so an
// operator sees retention work (docs/operations/retention.md) before a disk or Redis fills.

export const RedisMemorySchema = Type.Object(
  {
    usedBytes: Type.Integer({ description: "Redis's used_memory: every key of every user of this Redis, not Slipway's alone" }),
    maxBytes: Nullable(Type.Integer({ description: "Redis's maxmemory; null when it has none" })),
    policy: Type.String({ description: 'maxmemory-policy: anything but noeviction lets Redis drop builds and queued jobs when full' }),
    warning: Nullable(Type.String({ description: 'Said when used memory is near maxmemory, or the policy evicts keys; null otherwise' }))
  },
  { additionalProperties: false }
)
export type RedisMemory = Static<typeof RedisMemorySchema>

export const HostReportSchema = Type.Object(
  {
    worker: Type.String({ description: 'The worker process (host name and process id)' }),
    engine: Type.Object(
      {
        id: Type.String({ description: "The Docker Engine's id (docker info: ID)" }),
        name: Type.String({ description: "The Docker Engine's host name (docker info: Name)" })
      },
      { additionalProperties: false }
    ),
    reportedAt: Timestamp,
    imagesBytes: Nullable(Type.Integer({ description: "Bytes of the engine's images (docker system df); null when it could not be read" })),
    buildCacheBytes: Nullable(Type.Integer({ description: "Bytes of the engine's build cache (docker system df); null when it could not be read" })),
    freeBytes: Nullable(Type.Integer({ description: "Free bytes on the engine's data root; null where the worker cannot see it" })),
    mirrorBytes: Type.Integer({ description: "Bytes of this worker's git mirrors (SLIPWAY_MIRROR_MAX_BYTES bounds them)" }),
    mirrors: Type.Integer({ description: 'How many git mirrors it keeps' }),
    paused: Nullable(Type.String({ description: 'Why the worker takes no builds now (its disk watermark); null while it takes them' }))
  },
  { additionalProperties: false }
)
export type HostReport = Static<typeof HostReportSchema>

export const SweepReportSchema = Type.Object(
  {
    startedAt: Timestamp,
    finishedAt: Timestamp,
    removed: Type.Object(
      { builds: Type.Integer(), logs: Type.Integer(), deliveries: Type.Integer(), tombstones: Type.Integer(), auditEntries: Type.Integer() },
      { additionalProperties: false, description: 'How many of each it removed' }
    ),
    scanned: Type.Integer({ description: 'Builds it looked at' }),
    batches: Type.Integer(),
    incomplete: Type.Boolean({ description: 'It stopped early (most batches per sweep reached, or its lock lost); the next sweep carries on' })
  },
  { additionalProperties: false }
)
export type SweepReport = Static<typeof SweepReportSchema>

export const StorageReportSchema = Type.Object(
  {
    measuredAt: Timestamp,
    history: Type.Object(
      {
        builds: Type.Integer({ description: 'Build records kept' }),
        byAge: Type.Array(
          Type.Object(
            {
              age: Type.String({ description: 'The age band, by when the builds were made' }),
              builds: Type.Integer({ description: 'Build records made in that band' }),
              logs: Nullable(Type.Integer({ description: 'Logs kept of builds made in that band, as of keysCountedAt; null before the first count' }))
            },
            { additionalProperties: false }
          )
        )
      },
      { additionalProperties: false }
    ),
    redis: Type.Object(
      {
        memory: Nullable(RedisMemorySchema),
        keys: Nullable(Type.Record(Type.String(), Type.Integer(), { description: "Slipway's keys by kind (the kinds of slipway_redis_keys), as of keysCountedAt" })),
        keysCountedAt: Nullable(Timestamp)
      },
      { additionalProperties: false }
    ),
    hosts: Type.Array(HostReportSchema, { description: 'Each live worker and its Docker host, as it last reported (every minute; a worker gone drops out after 3)' }),
    retention: Type.Object(
      {
        retention: Type.String({ description: 'SLIPWAY_RETENTION' }),
        keepLast: Type.Integer({ description: 'SLIPWAY_RETENTION_KEEP_LAST' }),
        logRetention: Type.String({ description: 'SLIPWAY_LOG_RETENTION (empty: as long as the records)' }),
        auditRetention: Type.String({ description: 'SLIPWAY_AUDIT_RETENTION' }),
        lastSweep: Nullable(SweepReportSchema)
      },
      { additionalProperties: false }
    )
  },
  {
    $id: 'StorageReport',
    additionalProperties: false,
    description: 'What Slipway keeps: build history by age, Redis memory and keys, each build host, and the retention sweeper'
  }
)
export type StorageReport = Static<typeof StorageReportSchema>
