import { Type, type SchemaOptions, type TSchema } from '@sinclair/typebox'

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/** A plain `{ type: string, enum }`, which client generators turn into enums (a union of literals they don't). */
export const StringEnum = <T extends readonly string[]>(values: T, options: SchemaOptions = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })

export const Timestamp = Type.String({ format: 'date-time' })
