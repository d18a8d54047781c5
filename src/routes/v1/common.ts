import { Type } from '@sinclair/typebox'
import { ErrorRef } from '../../schemas/error.js'

export const BuildIdParams = Type.Object({ id: Type.String({ description: 'The build id' }) })

/** Response schemas for error statuses; every route may also answer 500 (its cause hidden, logged). */
export const errors = (...codes: number[]) => Object.fromEntries([...codes, 500].map((code) => [code, ErrorRef]))
