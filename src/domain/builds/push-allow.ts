import { CacheFromNotAllowed, ImageNotAllowed, PushPatternInvalid } from '../errors.js'
import type { Actor } from '../schemas/audit.js'
import { DOCKER_HUB, splitImageName } from './image-ref.js'
import { printable } from './repo-url.js'

// Where builds may push: image repositories as patterns, `registry.example.com/team-a/*`. The
// registry host (with its port) is matched exactly; in the path, `*` matches within one component
// and a `**` component any number of them (at the end: one or more, so `team/**` is what is inside
// team). `**` alone is every repository of every registry. Docker Hub names are compared in their
// canonical form, `docker.io/library/node`.

/** The pattern that matches every repository of every registry. */
const ANYWHERE = '**'

export const PUSH_ALLOW_SOURCES = ['token', 'SLIPWAY_PUSH_ALLOW', 'SLIPWAY_ADMIN_PUSH_ANYWHERE'] as const
/** Where a token's patterns come from: its own, the operator's default, or the operator's word for admins. */
export type PushAllowSource = (typeof PUSH_ALLOW_SOURCES)[number]

/** What a token may push to, and why. */
export interface PushGrant {
  patterns: string[]
  from: PushAllowSource
}

/** One limit a push must be inside; a push must be inside every limit that applies. */
export interface PushLimit {
  patterns: readonly string[]
  /** Where the patterns come from, as a refusal names it. */
  from: string
  /** What to do about a refusal, for the message. */
  remedy: string
}

/** The operator's settings: SLIPWAY_PUSH_ALLOW and SLIPWAY_ADMIN_PUSH_ANYWHERE. */
export interface PushPolicy {
  defaults: string[]
  adminAnywhere: boolean
}

const HUB_ALIASES = new Set([DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io'])
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(?::[0-9]{1,5})?$/
const COMPONENT = /^[a-z0-9._*-]+$/

/** A repository name as patterns see it: registry host lower-cased, Docker Hub's spelled out. */
export function canonicalImage (name: string): string {
  const { registry, path } = splitImageName(name)
  const host = registry.toLowerCase()
  if (!HUB_ALIASES.has(host)) return `${host}/${path}`
  return `${DOCKER_HUB}/${path.includes('/') ? path : `library/${path}`}`
}

/** Why `pattern` is not a push pattern, or null when it is one. */
export function patternProblem (pattern: string): string | null {
  if (pattern === ANYWHERE) return null
  const [host = '', ...path] = pattern.split('/')
  if (/^[a-z]+:$/i.test(host)) return 'has a URL scheme; write the registry host without it'
  if (!HOST.test(host) || !(host.includes('.') || host.includes(':') || host === 'localhost')) {
    return `does not start with a registry host: write the host (and port) first, exactly, e.g. registry.example.com/${pattern} (Docker Hub: docker.io/…)`
  }
  if (path.length === 0) return `names no repository path: for every repository of ${host}, write ${host}/**`
  if (HUB_ALIASES.has(host) && path.length === 1 && path[0] !== '**') {
    return `is a Docker Hub name without its namespace: write official images as docker.io/library/${path[0]}`
  }
  for (const component of path) {
    if (component === '**') continue
    if (!COMPONENT.test(component)) return `has a path component '${printable(component)}' that is not lowercase letters, digits, ".", "_", "-" or "*"`
    if (component.includes('**')) return `has "**" inside the component '${printable(component)}': "**" stands alone between slashes`
  }
  return null
}

/** Patterns given for a token, checked; PUSH_PATTERN_INVALID names the first bad one. */
export function checkPushPatterns (patterns: string[]): string[] {
  for (const pattern of patterns) {
    const problem = patternProblem(pattern)
    if (problem) throw new PushPatternInvalid(printable(pattern), problem)
  }
  return patterns
}

const settingPatterns = (setting: string) => setting.split(',').map((pattern) => pattern.trim()).filter(Boolean)

/** What is wrong with a value of SLIPWAY_PUSH_ALLOW (comma-separated patterns), or null. */
export function pushAllowSettingProblem (setting: string): string | null {
  for (const pattern of settingPatterns(setting)) {
    const problem = patternProblem(pattern)
    if (problem) return `'${printable(pattern)}' ${problem}`
  }
  return null
}

/** The patterns of SLIPWAY_PUSH_ALLOW; an Error naming the setting for a bad one. */
export function parsePushAllowSetting (setting: string): string[] {
  const problem = pushAllowSettingProblem(setting)
  if (problem) throw new Error(`SLIPWAY_PUSH_ALLOW: ${problem}.`)
  return settingPatterns(setting)
}

/** Whether a checked pattern matches a repository name. */
export function patternMatches (pattern: string, image: string): boolean {
  if (pattern === ANYWHERE) return true
  const [host, ...path] = pattern.split('/')
  const hostOf = (name: string) => (HUB_ALIASES.has(name) ? DOCKER_HUB : name)
  const source = path
    .map((component, i) => {
      if (component !== '**') return `/${component.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}`
      return i === path.length - 1 ? '(?:/[^/]+)+' : '(?:/[^/]+)*'
    })
    .join('')
  return new RegExp(`^${hostOf(host!).replace(/[.[\]]/g, '\\$&')}${source}$`).test(canonicalImage(image))
}

/** What a token may push to: anywhere for admins when the operator says so, else its own patterns, else the default. */
export function grantOf (token: { admin: boolean; pushAllow: string[] | null }, policy: PushPolicy): PushGrant {
  if (token.admin && policy.adminAnywhere) return { patterns: [ANYWHERE], from: 'SLIPWAY_ADMIN_PUSH_ANYWHERE' }
  if (token.pushAllow !== null) return { patterns: token.pushAllow, from: 'token' }
  return { patterns: policy.defaults, from: 'SLIPWAY_PUSH_ALLOW' }
}

/** A token's grant as the one limit its own requests are held to. */
export function tokenLimit (grant: PushGrant): PushLimit {
  const remedy =
    grant.from === 'token'
      ? 'Push to one of them, or ask an admin for a token whose pushAllow covers it.'
      : 'Push to one of them, or ask an admin for a token whose own pushAllow covers it, or the operator to add it to SLIPWAY_PUSH_ALLOW.'
  return { patterns: grant.patterns, from: grant.from, remedy }
}

/**
 * The limits of a trigger rule's builds: the grant of the token that last wrote the rule and,
 * when that grant came from an operator setting, what the setting gives now, so narrowing
 * SLIPWAY_PUSH_ALLOW (or turning SLIPWAY_ADMIN_PUSH_ANYWHERE off) narrows such rules at once.
 * A rule written before rules recorded grants follows SLIPWAY_PUSH_ALLOW, as a token without
 * patterns of its own does.
 */
export function ruleLimits (rule: { id: string; pushAllow?: string[] | null; pushAllowFrom?: PushAllowSource | null }, policy: PushPolicy): PushLimit[] {
  const now = (admin: boolean) => tokenLimit(grantOf({ admin, pushAllow: null }, policy))
  const { pushAllow: patterns, pushAllowFrom: from } = rule
  if (!patterns || !from) return [now(false)]
  const written: PushLimit = {
    patterns,
    from: `trigger rule ${rule.id}, whose author's patterns came from ${from}`,
    remedy: `Have a token that may push there save the rule again (PATCH /v1/triggers/${rule.id}).`
  }
  return from === 'token' ? [written] : [written, now(from === 'SLIPWAY_ADMIN_PUSH_ANYWHERE')]
}

/** Throws IMAGE_NOT_ALLOWED, naming the image, the patterns and their source, unless every limit allows pushing `image`. */
export function assertMayPush (image: string, limits: readonly PushLimit[], actor: Actor): void {
  const refusing = limits.find((limit) => !limit.patterns.some((pattern) => patternMatches(pattern, image)))
  if (!refusing) return
  const who = actorName(actor)
  const patterns = refusing.patterns.length === 0 ? 'none' : refusing.patterns.join(', ')
  // Patterns compare the canonical name; it is shown where it differs from what was asked for.
  const canonical = canonicalImage(image)
  const compared = canonical === image ? '' : ` (as patterns read it: ${canonical})`
  throw new ImageNotAllowed(who, printable(image), compared, patterns, refusing.from, refusing.remedy)
}

function actorName (actor: Actor): string {
  return `${actor.kind === 'token' ? 'Token' : actor.kind === 'trigger' ? 'Trigger rule' : 'The operator'} '${printable(actor.name ?? actor.id)}'`
}

/**
 * Throws CACHE_FROM_NOT_ALLOWED unless every limit allows pushing to the repository of `reference`.
 * The worker imports registry cache with its own credentials, and a cache hit hands over the
 * layers whoever pushed there built: a request reads cache only where it could have written it.
 */
export function assertMayImportCache (reference: string, repository: string, limits: readonly PushLimit[], actor: Actor): void {
  const refusing = limits.find((limit) => !limit.patterns.some((pattern) => patternMatches(pattern, repository)))
  if (!refusing) return
  const patterns = refusing.patterns.length === 0 ? 'none' : refusing.patterns.join(', ')
  throw new CacheFromNotAllowed(actorName(actor), printable(reference), patterns, refusing.from)
}
