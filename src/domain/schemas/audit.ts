import { Type, type Static } from '@sinclair/typebox'
import { Nullable, StringEnum, Timestamp } from './common.js'

export const PullRequestSchema = Type.Object(
  {
    number: Type.Integer({ minimum: 1, description: "The pull request's number (GitHub), or the merge request's iid (GitLab)" }),
    headSha: Type.String({ description: 'The head commit the event named: the one built' }),
    sourceBranch: Type.String({ description: 'The branch it comes from (in the fork, for a fork)' }),
    targetBranch: Type.String({ description: 'The branch it goes into; its latest build is what the size is compared with' }),
    fork: Type.Boolean({ description: 'It comes from another repository: its image is never pushed' })
  },
  { $id: 'PullRequest', additionalProperties: false, description: 'A pull request (GitHub) or merge request (GitLab)' }
)
export type PullRequest = Static<typeof PullRequestSchema>

export const ACTOR_KINDS = ['token', 'trigger', 'operator'] as const

export const ActorSchema = Type.Object(
  {
    kind: StringEnum(ACTOR_KINDS, {
      description: 'token: a request made with an API token; trigger: a trigger rule acting on a push, pull request or merge request event; operator: `slipway token --redis` run on a host that reaches Redis'
    }),
    id: Type.String({ description: "The token's id ('admin' for SLIPWAY_ADMIN_TOKEN), the trigger rule's, or 'operator'" }),
    name: Nullable(Type.String({ description: "The token's or the rule's name when it was done; for an operator, user@host" })),
    deliveryId: Nullable(Type.String({ description: 'For a trigger: the event delivery it acted on' })),
    ref: Type.Optional(
      Type.String({
        description:
          'For a trigger: the ref the event was about: refs/heads/<branch> for a push; refs/pull/<n>/head (GitHub) or refs/merge-requests/<n>/head (GitLab) for a pull or merge request'
      })
    ),
    pullRequest: Type.Optional(Type.Ref(PullRequestSchema, { description: 'For a trigger acting on a pull or merge request: which one' })),
    pusher: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description:
          "For a trigger: the forge account the event names as the one who pushed or opened/updated the pull/merge request, as the event says it, not verified by Slipway beyond the event's signature. Absent when the event names none, or none that is a plain name (ASCII letters, digits, '.', '_', '-' and single spaces); builds from before Slipway read it lack it too"
      })
    )
  },
  { $id: 'Actor', additionalProperties: false, description: 'Who did something' }
)
export type Actor = Static<typeof ActorSchema>

/** A record as stored, with `createdBy: null` where it was made before Slipway recorded creators. */
export const withCreator = <T extends { createdBy: Actor | null }>(stored: T): T => ({ ...stored, createdBy: stored.createdBy ?? null })

/** What the audit trail records things of. */
export const AUDIT_KINDS = ['build', 'token', 'webhook', 'trigger', 'secret'] as const
export type AuditKind = (typeof AUDIT_KINDS)[number]

export const AUDIT_ACTIONS = [
  'build.create',
  'build.retry',
  'build.cancel',
  'token.create',
  'token.revoke',
  'webhook.create',
  'webhook.update',
  'webhook.delete',
  'webhook.rotate-secret',
  'webhook.redeliver',
  'trigger.create',
  'trigger.update',
  'trigger.delete',
  'secret.create',
  'secret.update',
  'secret.delete',
  'secret.reencrypt'
] as const
export type AuditAction = (typeof AUDIT_ACTIONS)[number]

export const AuditEntrySchema = Type.Object(
  {
    id: Type.String({ description: 'Sorts by time; pass as `cursor` to page on' }),
    at: Timestamp,
    actor: Type.Ref(ActorSchema),
    action: StringEnum(AUDIT_ACTIONS),
    kind: StringEnum(AUDIT_KINDS, { description: 'What kind of resource it was done to' }),
    resourceId: Type.String(),
    summary: Type.String({ description: 'What was done, in a line' })
  },
  { $id: 'AuditEntry', additionalProperties: false }
)
export type AuditEntry = Static<typeof AuditEntrySchema>

export const AuditListSchema = Type.Object(
  {
    items: Type.Array(Type.Ref(AuditEntrySchema)),
    nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page' }))
  },
  { $id: 'AuditList', additionalProperties: false }
)

const ENTRY_ID = '^[0-9]{1,20}-[0-9]{1,20}$'

export const AuditQuerySchema = Type.Object(
  {
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z]+$', description: 'Only what this token or trigger rule (its id) did' })),
    kind: Type.Optional(StringEnum(AUDIT_KINDS, { description: 'Only what was done to builds, tokens, webhooks, trigger rules or secrets' })),
    cursor: Type.Optional(Type.String({ pattern: ENTRY_ID, description: 'nextCursor of the previous page' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 }))
  },
  { additionalProperties: false }
)

export const auditSchemas = [PullRequestSchema, ActorSchema, AuditEntrySchema, AuditListSchema]
