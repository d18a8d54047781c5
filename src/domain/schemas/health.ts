import { Type, type Static } from '@sinclair/typebox'

export const HealthSchema = Type.Object({ status: Type.String() }, { additionalProperties: false })

export const ReadinessSchema = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
    redis: Type.Boolean({ description: 'Whether this process reaches Redis' }),
    docker: Type.Union([Type.Boolean(), Type.Null()], {
      description: 'Whether this process reaches the Docker Engine it builds on; null in an API-only process (SLIPWAY_ROLE=api), which never uses Docker'
    })
  },
  { additionalProperties: false }
)
export type Readiness = Static<typeof ReadinessSchema>
