import { Type, type Static } from '@sinclair/typebox'

export const HealthSchema = Type.Object({ status: Type.String() }, { additionalProperties: false })

export const ReadinessSchema = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
    redis: Type.Boolean({ description: 'Whether this process reaches Redis' }),
    docker: Type.Union([Type.Boolean(), Type.Null()], {
      description: 'Whether this process reaches the Docker Engine it builds on; null in an API-only process (SLIPWAY_ROLE=api), which never uses Docker'
    }),
    paused: Type.Optional(
      Type.Union([Type.String(), Type.Null()], {
        description:
          "Where this process builds (SLIPWAY_ROLE=worker or all): why it takes no new builds, such as free space on its Docker Engine's data root under SLIPWAY_DISK_MIN_FREE_BYTES; null while it takes them. Running builds go on"
      })
    ),
    warnings: Type.Array(Type.String(), {
      description:
        "What an operator should act on before it fails, without making the process unready: Redis's used memory at 90% of its maxmemory or more, or a maxmemory-policy that evicts keys. Empty when none"
    })
  },
  { additionalProperties: false }
)
export type Readiness = Static<typeof ReadinessSchema>
