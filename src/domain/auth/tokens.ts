// What a token is and may do. A route names the scope it needs; `admin` holds them all.
import type { Actor } from '../schemas/audit.js'

export const SCOPES = ['builds:read', 'builds:write', 'webhooks:admin', 'triggers:admin', 'secrets:admin', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

/** A token as stored and listed: never the token itself, only the hash it is found by. */
export interface TokenRecord {
  id: string
  name: string
  scopes: Scope[]
  /** The image repositories its builds may push to; null: those of SLIPWAY_PUSH_ALLOW (and tokens made before tokens had patterns). */
  pushAllow: string[] | null
  createdAt: string
  /** Null for tokens made before Slipway recorded who made them. */
  createdBy: Actor | null
}

/** Who a request is: a stored token, or the configured admin token. */
export interface Principal {
  tokenId: string
  name: string
  scopes: Scope[]
  pushAllow: string[] | null
}

/** `admin` holds every scope; otherwise a scope is held by name. */
export function holds (principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope)
}
