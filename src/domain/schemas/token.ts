import { Type, type Static } from '@sinclair/typebox'
import { SCOPES } from '../auth/tokens.js'
import { ActorSchema } from './audit.js'
import { Nullable, StringEnum, Timestamp } from './common.js'

const Scopes = Type.Array(StringEnum(SCOPES), {
  minItems: 1,
  uniqueItems: true,
  description: 'builds:read (read builds and logs), builds:write (submit, cancel, retry), webhooks:admin, triggers:admin (push trigger rules), secrets:admin (secrets and SSH keys for builds), admin (everything, tokens too)'
})

const PushAllow = (unset: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 255 }), {
    maxItems: 32,
    uniqueItems: true,
    description:
      'The image repositories its builds may push to, as patterns: a registry host (with its port), matched exactly, and a path in which "*" matches within one ' +
      `component and "**" any number of them, e.g. "registry.example.com/team-a/*"; Docker Hub as "docker.io/library/node"; "**" alone: anywhere; []: nowhere. ${unset}`
  })

export const TokenCreateSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f]+$', description: 'Who or what uses it, e.g. "ci-main"' }),
    scopes: Scopes,
    pushAllow: Type.Optional(PushAllow('Default: none of its own, so SLIPWAY_PUSH_ALLOW applies.'))
  },
  { $id: 'TokenCreate', additionalProperties: false }
)

export const TokenSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    scopes: Scopes,
    pushAllow: Nullable(PushAllow('null: none of its own, so SLIPWAY_PUSH_ALLOW applies (admin tokens: anywhere under SLIPWAY_ADMIN_PUSH_ANYWHERE).')),
    createdAt: Timestamp,
    createdBy: Nullable(Type.Ref(ActorSchema, { description: 'Who made the token; null for tokens made before Slipway recorded it' })),
    token: Type.Optional(Type.String({ description: 'The token: only in the answer that made it, never again' }))
  },
  { $id: 'Token', additionalProperties: false }
)

export const TokenSelfSchema = Type.Object(
  {
    id: Type.String({ description: "The token's id; 'admin' for SLIPWAY_ADMIN_TOKEN" }),
    name: Type.String({ description: 'Who or what uses it, as its maker named it; SLIPWAY_ADMIN_TOKEN for the admin token' }),
    scopes: Scopes,
    pushAllow: Nullable(PushAllow('null: none of its own, so SLIPWAY_PUSH_ALLOW applies (admin tokens: anywhere under SLIPWAY_ADMIN_PUSH_ANYWHERE).')),
    expiresAt: Nullable(Type.String({ format: 'date-time', description: 'When it stops working; null: it does not expire (a token works until it is revoked)' })),
    createdAt: Nullable(Type.String({ format: 'date-time', description: 'When it was made; null for the admin token, which is configured, not made' }))
  },
  { $id: 'TokenSelf', additionalProperties: false, description: 'The token a request presented, as it may see itself: never the token, its hash, or other tokens' }
)
export type TokenSelf = Static<typeof TokenSelfSchema>

export const TokenListSchema = Type.Object({ items: Type.Array(Type.Ref(TokenSchema)) }, { $id: 'TokenList', additionalProperties: false })

export const tokenSchemas = [TokenCreateSchema, TokenSchema, TokenSelfSchema, TokenListSchema]
