/**
 * A forge account's name as people are shown it: ASCII letters, digits, '.', '_' and '-' (all a
 * GitHub login or GitLab username is made of), in words with single spaces between them (GitLab's
 * display name `user_name`, read when a push lacks the username), at most 100 characters.
 * Nothing else: no control characters or terminal escapes (a forged line in a log or a terminal),
 * no markup, quotes or ampersands, no parentheses (a name posing as Slipway's own "(trigger rule
 * …)"), no letters outside ASCII (look-alikes of another account, bidirectional overrides).
 */
const PLAIN_NAME = /^(?=.{1,100}$)[A-Za-z0-9._-]+(?: [A-Za-z0-9._-]+)*$/

/** Where in a payload a name is: the keys to follow, from its root. */
export type FieldPath = readonly string[]

/**
 * The name at the first of `paths` the payload has; null when it has none, or when that first one
 * is not a plain name. Never a later path past a hostile first: the fallback is for payloads that
 * lack the field, not a way to choose among names the payload gives.
 */
export function forgeUserOf (payload: unknown, paths: readonly FieldPath[]): string | null {
  for (const path of paths) {
    const value = path.reduce<unknown>((at, key) => (typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined), payload)
    if (value === undefined || value === null) continue
    return typeof value === 'string' && PLAIN_NAME.test(value) ? value : null
  }
  return null
}
