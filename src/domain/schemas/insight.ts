import { Type, type Static } from '@sinclair/typebox'
import { Nullable, StringEnum } from './common.js'

// Where an image's bytes go, and what would remove them: the craft of small images, measured.

/** The advisor's rules; src/insight/advisor.ts says what each one finds. */
export const RULE_IDS = [
  'build-tools-in-final-stage',
  'package-cache-kept',
  'apt-update-alone',
  'apt-no-install-recommends',
  'source-before-dependencies',
  'no-dockerignore',
  'full-base-image',
  'files-deleted-later'
] as const
export type RuleId = (typeof RULE_IDS)[number]

export const FindingSchema = Type.Object(
  {
    rule: StringEnum(RULE_IDS, { description: 'The advisor rule (POST /v1/lint describes them all)' }),
    lines: Type.Array(Type.Integer({ minimum: 1 }), {
      description: "The Dockerfile lines it points at: each instruction's first line (the `line` of its layer), or a base image's FROM and ARG lines"
    }),
    stage: Nullable(Type.String({ description: 'The stage (its AS name, or stage-N counting from 0); null when not about one stage' })),
    message: Type.String({ description: 'What to change, concretely' }),
    bytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Bytes of the layers it points at, measured in the image' }))
  },
  { $id: 'Finding', additionalProperties: false }
)
export type Finding = Static<typeof FindingSchema>

export const SizeDeltaSchema = Type.Object(
  {
    comparedWith: Type.String({ description: 'The previous succeeded build of the same repository, ref, Dockerfile and target' }),
    bytes: Type.Integer({ description: 'This image minus that one' }),
    layers: Type.Array(
      Type.Object(
        {
          instruction: Type.String(),
          line: Nullable(Type.Integer()),
          beforeBytes: Type.Integer(),
          afterBytes: Type.Integer(),
          deltaBytes: Type.Integer()
        },
        { additionalProperties: false }
      ),
      { description: 'The layers whose size changed (base image layers counted as one)' }
    )
  },
  { $id: 'SizeDelta', additionalProperties: false }
)
export type SizeDelta = Static<typeof SizeDeltaSchema>

export const BUDGET_MODES = ['fail', 'warn'] as const

export const BudgetSchema = Type.Object(
  {
    maxBytes: Type.Integer(),
    mode: StringEnum(BUDGET_MODES),
    exceeded: Type.Boolean()
  },
  { $id: 'Budget', additionalProperties: false, description: 'The size budget the build was held to' }
)
export type Budget = Static<typeof BudgetSchema>

export const VariantRequestSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,31}$', description: 'Names the variant; its tags get "-<name>"' }),
    dockerfile: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    target: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' })),
    buildArgs: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 32_768 }), { propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, maxProperties: 64 })
    )
  },
  { $id: 'VariantRequest', additionalProperties: false, description: 'One way to build the same commit: another Dockerfile, target or build args' }
)
export type VariantRequest = Static<typeof VariantRequestSchema>

export const VariantSchema = Type.Object(
  {
    name: Type.String(),
    dockerfile: Type.String(),
    target: Nullable(Type.String()),
    buildArgs: Type.Record(Type.String(), Type.String({ description: 'The request\'s build args with the variant\'s own over them' }))
  },
  { $id: 'Variant', additionalProperties: false, description: 'A variant as it will be built, every default filled in' }
)
export type Variant = Static<typeof VariantSchema>

export const VariantResultSchema = Type.Object(
  {
    name: Type.String(),
    dockerfile: Type.String(),
    target: Nullable(Type.String()),
    buildArgs: Type.Record(Type.String(), Type.String()),
    status: StringEnum(['succeeded', 'failed'] as const),
    sizeBytes: Nullable(Type.Integer()),
    baseBytes: Nullable(Type.Integer()),
    addedBytes: Nullable(Type.Integer()),
    layerCount: Nullable(Type.Integer()),
    durationMs: Type.Integer({ description: 'Its context, build, inspect and push phases' }),
    tags: Type.Array(Type.String()),
    digest: Nullable(Type.String()),
    findings: Type.Integer({ description: 'How many advisor findings it has' }),
    error: Nullable(Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false }))
  },
  { $id: 'VariantResult', additionalProperties: false, description: 'One row of the comparison, as `docker images` would show it and more' }
)
export type VariantResult = Static<typeof VariantResultSchema>

export const insightSchemas = [FindingSchema, SizeDeltaSchema, BudgetSchema, VariantRequestSchema, VariantSchema, VariantResultSchema]
