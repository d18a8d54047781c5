import { Type, type Static } from '@sinclair/typebox'
import { SECRET_ID_PATTERN, SECRET_KINDS } from '../secrets/secret-ids.js'
import { ActorSchema } from './audit.js'
import { Nullable, StringEnum, Timestamp } from './common.js'

// A secret Slipway holds for builds. Its value is written, never read: no answer carries it.

/** Largest value a secret may hold, in bytes: a token or a private key, not a file system. */
export const SECRET_MAX_BYTES = 64 * 1024

const Id = Type.String({ pattern: SECRET_ID_PATTERN, description: 'The id the Dockerfile names: `RUN --mount=type=secret,id=<id>` or `--mount=type=ssh,id=<id>` (default: "default"). 1 to 64 letters, digits, "_", "." and "-"' })
const Kind = StringEnum(SECRET_KINDS, {
  description: 'secret: bytes mounted at /run/secrets/<id> in the RUN steps that ask for it; ssh: a private key offered to them through an SSH agent'
})
const Value = Type.String({
  minLength: 1,
  // Base64 of SECRET_MAX_BYTES; the decoded size is checked again.
  maxLength: Math.ceil(SECRET_MAX_BYTES / 3) * 4,
  description: `The value, written only: no answer shows it again. At most ${SECRET_MAX_BYTES / 1024} KiB. For ssh: a private key in PEM or OpenSSH form, without a passphrase`
})
const Encoding = StringEnum(['utf8', 'base64'] as const, { description: 'How `value` is written: utf8 (text, as is) or base64 (any bytes). Default: utf8' })
const Repos = Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), {
  maxItems: 64,
  uniqueItems: true,
  description:
    'Repositories whose builds may use it, as patterns: a host and path (or a URL, compared by host and path) in which "*" matches within one component and "**" any number of them, ' +
    'e.g. "github.com/acme/app", "github.com/acme/*"; "**" alone: any repository. Uploads have no repository: they may use a secret only when `tokens` names their token'
})
const Tokens = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  maxItems: 64,
  uniqueItems: true,
  description: 'Tokens (ids or names) whose builds may use it; a trigger rule\'s builds count as the token that last wrote the rule. Empty: any token'
})

export const SecretCreateSchema = Type.Object(
  {
    id: Id,
    kind: Type.Optional(Type.Unsafe<(typeof SECRET_KINDS)[number]>({ ...Kind, description: `${Kind.description as string}. Default: secret` })),
    value: Value,
    encoding: Type.Optional(Encoding),
    repos: Repos,
    tokens: Type.Optional(Tokens)
  },
  { $id: 'SecretCreate', additionalProperties: false, description: 'A secret to hold: its value, and the repositories and tokens whose builds may use it' }
)
export type SecretCreate = Static<typeof SecretCreateSchema>

export const SecretUpdateSchema = Type.Object(
  {
    value: Type.Optional(Value),
    encoding: Type.Optional(Encoding),
    repos: Type.Optional(Repos),
    tokens: Type.Optional(Tokens)
  },
  { $id: 'SecretUpdate', additionalProperties: false, minProperties: 1, description: 'The fields to change; each replaces the old one. Kind and id never change: make a new secret' }
)
export type SecretUpdate = Static<typeof SecretUpdateSchema>

export const SecretSchema = Type.Object(
  {
    id: Id,
    kind: Kind,
    repos: Type.Array(Type.String(), { description: 'Repository patterns whose builds may use it' }),
    tokens: Type.Array(Type.String(), { description: 'Tokens (ids or names) whose builds may use it; empty: any token' }),
    sizeBytes: Type.Integer({ minimum: 0, description: 'How many bytes the value holds (the value itself is never shown)' }),
    createdAt: Timestamp,
    createdBy: Nullable(Type.Ref(ActorSchema, { description: 'Who made it' })),
    updatedAt: Timestamp,
    updatedBy: Nullable(Type.Ref(ActorSchema, { description: 'Who changed it last' }))
  },
  { $id: 'Secret', additionalProperties: false, description: 'A secret, without its value' }
)
export type Secret = Static<typeof SecretSchema>

export const SecretListSchema = Type.Object({ items: Type.Array(Type.Ref(SecretSchema)) }, { $id: 'SecretList', additionalProperties: false })

export const SecretReencryptResultSchema = Type.Object(
  {
    total: Type.Integer({ minimum: 0, description: 'Secrets there are' }),
    reencrypted: Type.Integer({ minimum: 0, description: 'Values that were sealed with the previous key and now are with the current one' }),
    current: Type.Integer({ minimum: 0, description: 'Values already sealed with the current key' }),
    unreadable: Type.Array(Type.String(), {
      description: 'Ids of values sealed with neither SLIPWAY_SECRETS_KEY nor SLIPWAY_SECRETS_KEY_PREVIOUS: set the key they were sealed with as SLIPWAY_SECRETS_KEY_PREVIOUS and run this again, or set their values anew'
    })
  },
  { $id: 'SecretReencryptResult', additionalProperties: false }
)
export type SecretReencryptResult = Static<typeof SecretReencryptResultSchema>

export const secretSchemas = [SecretCreateSchema, SecretUpdateSchema, SecretSchema, SecretListSchema, SecretReencryptResultSchema]
