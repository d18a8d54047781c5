import { Type, type Static } from '@sinclair/typebox'
import { BuildRequestSchema, FORGE_PROVIDERS } from './build.js'
import { PUSH_ALLOW_SOURCES } from '../builds/push-allow.js'
import { ActorSchema } from './audit.js'
import { Nullable, StringEnum, Timestamp } from './common.js'

export const TRIGGER_PROVIDERS = FORGE_PROVIDERS
export type TriggerProvider = (typeof TRIGGER_PROVIDERS)[number]

/** What a rule builds: pushes to its branches, and pull requests (GitHub) or merge requests (GitLab) into them. */
export const TRIGGER_EVENTS = ['push', 'pull_request', 'merge_request'] as const
export type TriggerEvent = (typeof TRIGGER_EVENTS)[number]

const Provider = StringEnum(TRIGGER_PROVIDERS, { description: 'Who sends the push events: GitHub (or GitHub Enterprise) or GitLab' })
const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f]+$', description: 'What the rule is for, e.g. "app main"' })
const Branches = Type.Array(
  Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
  {
    minItems: 1,
    maxItems: 20,
    uniqueItems: true,
    description:
      'Branches whose pushes start a build, as glob patterns: "main", "release/*" ("*" stops at "/"), "feature/**" (any depth), "*" (any branch without "/"). A push matching any of them builds.'
  }
)
const Events = Type.Array(StringEnum(TRIGGER_EVENTS), {
  minItems: 1,
  uniqueItems: true,
  description:
    'What starts builds: push (to the branches), pull_request (GitHub: opened, synchronize, reopened) and merge_request (GitLab: open, reopen, and an update ' +
    'that adds commits) into the branches. A pull or merge request builds its head commit, compares it with the latest build of the branch it goes into, ' +
    "and keeps one comment on it up to date when the rule's build has a `report`. Default: [\"push\"]"
})
const PushPullRequests = Type.Boolean({
  description:
    'Push the images of pull and merge request builds, tagged pr-<number> (the tags of `build` are for pushes). Never for requests from forks, whose ' +
    'images are only built. Default: false: they are built and measured, not pushed'
})
const Secret = Type.String({
  pattern: '^[\\x21-\\x7e]{16,256}$',
  description: "GitHub's webhook secret or GitLab's secret token: 16 to 256 printable characters. Default: one Slipway makes, shown once in this answer."
})

/** The options of the builds a rule starts: a build request without what the push decides (repo, ref) or secrets (webhooks). */
export const TriggerBuildOptionsSchema = Type.Omit(BuildRequestSchema, ['repo', 'ref', 'webhooks'], {
  $id: 'TriggerBuildOptions',
  additionalProperties: false,
  description:
    'The fields of POST /v1/builds except repo, ref (the rule\'s repository, at the pushed commit) and webhooks (subscribe at /v1/webhooks, with `repo`, instead)'
})
export type TriggerBuildOptions = Static<typeof TriggerBuildOptionsSchema>

export const TriggerCreateSchema = Type.Object(
  {
    name: Type.Optional(Name),
    provider: Provider,
    repo: Type.String({
      minLength: 1,
      maxLength: 2048,
      description:
        'The repository, as POST /v1/builds takes it. Events are matched to it by host and path, so https:// and ssh:// spellings of one repository are the same; builds clone this URL, never one the event names.'
    }),
    branches: Branches,
    events: Type.Optional(Events),
    pushPullRequests: Type.Optional(PushPullRequests),
    build: Type.Optional(Type.Ref(TriggerBuildOptionsSchema)),
    enabled: Type.Optional(Type.Boolean({ description: 'Default: true' })),
    secret: Type.Optional(Secret)
  },
  { $id: 'TriggerCreate', additionalProperties: false, description: 'A rule: pushes to these branches of this repository (and, if it says so, pull or merge requests into them) start builds with these options' }
)
export type TriggerCreate = Static<typeof TriggerCreateSchema>

export const TriggerUpdateSchema = Type.Object(
  {
    name: Type.Optional(Nullable(Name)),
    branches: Type.Optional(Branches),
    events: Type.Optional(Events),
    pushPullRequests: Type.Optional(PushPullRequests),
    build: Type.Optional(Type.Ref(TriggerBuildOptionsSchema)),
    enabled: Type.Optional(Type.Boolean()),
    secret: Type.Optional(Secret)
  },
  {
    $id: 'TriggerUpdate',
    additionalProperties: false,
    minProperties: 1,
    description: 'The fields to change; `build` replaces the options as a whole. To change provider or repository, make a new rule.'
  }
)
export type TriggerUpdate = Static<typeof TriggerUpdateSchema>

export const TriggerSchema = Type.Object(
  {
    id: Type.String(),
    name: Nullable(Type.String()),
    provider: Provider,
    repo: Type.String({ description: 'The repository URL, as builds clone it' }),
    branches: Type.Array(Type.String()),
    events: Type.Array(StringEnum(TRIGGER_EVENTS), { description: 'What starts builds (rules made before Slipway built pull requests: push)' }),
    pushPullRequests: Type.Boolean({ description: 'Whether pull and merge request images (not of forks) are pushed, tagged pr-<number>' }),
    build: Type.Ref(TriggerBuildOptionsSchema),
    enabled: Type.Boolean(),
    eventsUrl: Type.String({ description: 'Where GitHub or GitLab sends the events: the payload URL (GitHub) or URL (GitLab) of the webhook' }),
    createdAt: Timestamp,
    createdBy: Nullable(Type.Ref(ActorSchema, { description: 'Who made the rule; null for rules made before Slipway recorded it' })),
    updatedAt: Timestamp,
    pushAllow: Nullable(
      Type.Array(Type.String(), {
        description:
          "Where the rule's builds may push: the patterns of the token that made or last changed the rule, as they were then. Null for rules made before Slipway recorded them: SLIPWAY_PUSH_ALLOW applies"
      })
    ),
    pushAllowFrom: Nullable(
      StringEnum(PUSH_ALLOW_SOURCES, {
        description:
          "Where those patterns came from: the token's own, or an operator setting; a rule whose patterns came from a setting is also held to the setting's value at each event"
      })
    ),
    secret: Type.Optional(Type.String({ description: 'The secret: only in the answer that created the rule or set a new one, never again' }))
  },
  { $id: 'Trigger', additionalProperties: false }
)
export type Trigger = Static<typeof TriggerSchema>

export const TriggerListSchema = Type.Object({ items: Type.Array(Type.Ref(TriggerSchema)) }, { $id: 'TriggerList', additionalProperties: false })

export const TriggerEventResultSchema = Type.Object(
  {
    status: StringEnum(['started', 'ignored', 'duplicate'] as const, {
      description: 'started: builds were started (or joined); ignored: the event starts none (see reason); duplicate: this delivery was handled before, these are the builds it started'
    }),
    event: Type.String({ description: 'The event, as the X-GitHub-Event or X-Gitlab-Event header named it' }),
    deliveryId: Nullable(Type.String()),
    reason: Nullable(Type.String({ description: 'Why nothing was started' })),
    rules: Type.Array(Type.String(), { description: 'The ids of the rules the event matched that started (or joined) builds' }),
    refused: Type.Array(
      Type.Object(
        { ruleId: Type.String(), code: Type.String({ description: 'IMAGE_NOT_ALLOWED, CACHE_FROM_NOT_ALLOWED, QUOTA_EXCEEDED, SECRET_NOT_ALLOWED or SECRETS_DISABLED' }), message: Type.String() },
        { additionalProperties: false }
      ),
      { description: 'Rules the push matched that started nothing, and why: their build would push where the rule may not, or use a secret its author\'s token may not (any more), or the rule has SLIPWAY_QUOTA_ACTIVE_BUILDS builds queued or running' }
    ),
    builds: Type.Array(
      Type.Object(
        { id: Type.String(), ruleId: Type.String(), links: Type.Object({ self: Type.String(), logs: Type.String() }, { additionalProperties: false }) },
        { additionalProperties: false }
      )
    )
  },
  { $id: 'TriggerEventResult', additionalProperties: false }
)
export type TriggerEventResult = Static<typeof TriggerEventResultSchema>

export const triggerSchemas = [TriggerBuildOptionsSchema, TriggerCreateSchema, TriggerUpdateSchema, TriggerSchema, TriggerListSchema, TriggerEventResultSchema]
