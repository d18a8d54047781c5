import type { Actor } from '../schemas/audit.js'
import { repoKey } from '../builds/repo-url.js'
import { SECRET_ID_PATTERN, type SecretKind } from './secret-ids.js'

// Who may use a secret: builds of the repositories its patterns match, started by one of its
// tokens (any token when it names none). Repository patterns are written as push patterns are:
// a host and a path in which "*" matches within one component and a "**" component any number of
// them; "**" alone is every repository. A pattern may be written as a URL (https://, ssh://,
// user@host:path): it is compared by host and path, as trigger rules compare repositories, so the
// https and ssh spellings of one repository are the same.

const SECRET_ID = new RegExp(SECRET_ID_PATTERN)
export const isSecretId = (id: string) => SECRET_ID.test(id)

const ANY_REPO = '**'

/** A pattern as it is compared: its host and path, the host in lower case. */
export function normalizeRepoPattern (pattern: string): string {
  const trimmed = pattern.trim()
  if (trimmed === ANY_REPO) return ANY_REPO
  const key = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/|^[^/]*@|^\//.test(trimmed) ? repoKey(trimmed) : trimmed.replace(/\/+$/, '').replace(/\.git$/, '')
  if (key.startsWith('/')) return key
  const [host = '', ...rest] = key.split('/')
  return [host.toLowerCase(), ...rest].join('/')
}

/** Why `pattern` is not a repository pattern, or null. */
export function repoPatternProblem (pattern: string): string | null {
  const normalized = normalizeRepoPattern(pattern)
  if (normalized === ANY_REPO) return null
  if (/[\u0000-\u0020\u007f]/.test(normalized)) return 'has spaces or control characters'
  const parts = normalized.split('/')
  if (parts.length < 2 || parts.slice(1).every((part) => part === '')) return 'names no repository path: write host/path, e.g. github.com/acme/app or github.com/acme/*'
  for (const part of parts.slice(1)) {
    if (part.includes('**') && part !== '**') return `has "**" inside the component '${part}': "**" stands alone between slashes`
  }
  return null
}

/** Whether a pattern matches a repository (its key, host and path). */
export function repoPatternMatches (pattern: string, repo: string): boolean {
  const normalized = normalizeRepoPattern(pattern)
  if (normalized === ANY_REPO) return true
  const key = normalizeRepoPattern(repo)
  const source = normalized
    .split('/')
    .map((part, i, parts) => {
      if (part === '**') return i === parts.length - 1 ? '(?:/[^/]+)+' : '(?:/[^/]+)*'
      const escaped = part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')
      return i === 0 ? escaped : `/${escaped}`
    })
    .join('')
  return new RegExp(`^${source}$`).test(key)
}

/** What a secret says of who may use it. */
export interface SecretScope {
  id: string
  kind: SecretKind
  repos: string[]
  tokens: string[]
}

/** What a build is, for deciding which secrets it may use: its repository (null: an upload) and the token it is made for. */
export interface SecretUser {
  repo: string | null
  /** The token the build is made with, or on whose word a trigger rule makes it; null: none (no token list admits it). */
  token: Pick<Actor, 'id' | 'name'> | null
}

/**
 * Whether a build may use a secret of `kind`: the secret is of that kind, names the token (by
 * id or name) or names none, and matches the repository. An upload has no repository: it may
 * use only secrets that name its token explicitly.
 */
export function mayUse (secret: SecretScope, kind: SecretKind, user: SecretUser): boolean {
  if (secret.kind !== kind) return false
  const tokenNamed = user.token !== null && secret.tokens.some((entry) => entry === user.token!.id || entry === user.token!.name)
  if (user.repo === null) return tokenNamed
  if (secret.tokens.length > 0 && !tokenNamed) return false
  return secret.repos.some((pattern) => repoPatternMatches(pattern, user.repo!))
}

/** Whether bytes look like a private key an SSH agent can hold: PEM or OpenSSH armour around a private key. */
export function looksLikeSshPrivateKey (value: Buffer): boolean {
  const text = value.toString('utf8')
  return /-----BEGIN (OPENSSH|RSA|EC|DSA|ENCRYPTED)? ?PRIVATE KEY-----[\s\S]+-----END (OPENSSH|RSA|EC|DSA|ENCRYPTED)? ?PRIVATE KEY-----/.test(text)
}

/** The ids a build asks for, for messages and lookups: `secrets` as secret mounts, `ssh` as agents. */
export function requestedSecrets (request: { secrets?: string[] | undefined; ssh?: string[] | undefined }): { id: string; kind: SecretKind }[] {
  return [...(request.secrets ?? []).map((id) => ({ id, kind: 'secret' as const })), ...(request.ssh ?? []).map((id) => ({ id, kind: 'ssh' as const }))]
}
