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
  /** When the token was made; null for the admin token, which is configured, not made. */
  createdAt: string | null
}

/** What a route's `config.scope` names when any valid token may call it, whatever its scopes. */
export const ANY_TOKEN = 'any token'
export type RouteScope = Scope | typeof ANY_TOKEN

/** `admin` holds every scope; otherwise a scope is held by name. Every token holds ANY_TOKEN. */
export function holds (principal: Principal, scope: RouteScope): boolean {
  return scope === ANY_TOKEN || principal.scopes.includes('admin') || principal.scopes.includes(scope)
}
