import { Type } from '@sinclair/typebox'
import { ErrorRef } from '../../../domain/schemas/error.js'

export const BuildIdParams = Type.Object({ id: Type.String({ description: 'The build id' }) })

/**
 * Response schemas for error statuses. Every /v1 route may also answer 401, 403 and 429 (tokens,
 * scopes, rate limits) and 500 (its cause hidden, logged).
 */
export const errors = (...codes: number[]) => Object.fromEntries([...codes, 401, 403, 429, 500].sort().map((code) => [code, ErrorRef]))
