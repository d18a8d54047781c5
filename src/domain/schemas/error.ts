import { Type, type Static } from '@sinclair/typebox'

export const ErrorSchema = Type.Object(
  {
    statusCode: Type.Integer({ description: 'The HTTP status, repeated' }),
    code: Type.String({ description: 'Stable, machine-readable reason; branch on this, never on the message' }),
    error: Type.String({ description: 'The HTTP reason phrase' }),
    message: Type.String({ description: 'What went wrong and what to do about it, for a person' }),
    details: Type.Optional(
      Type.Array(
        Type.Object({ path: Type.String(), message: Type.String() }, { additionalProperties: false }),
        { description: 'Each problem found in the request, for VALIDATION_FAILED' }
      )
    )
  },
  { $id: 'Error', additionalProperties: false }
)
export type ErrorBody = Static<typeof ErrorSchema>

/** A response schema entry: this status answers with the Error model. */
export const ErrorRef = Type.Ref(ErrorSchema)
