// Credentials in URLs ("https://user:token@host", in any scheme) are masked wherever they appear.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi
// Shorter values would mask ordinary words; no credential worth the name is that short.
const MIN_SECRET_LENGTH = 4

/**
 * Masks secrets in text before it is stored anywhere: URL userinfo, and each of `secrets` (the
 * credentials this build uses) as given and in the base64 forms Docker configs and HTTP Basic
 * auth carry them in.
 */
export function createRedactor (secrets: { username?: string; password: string }[]): (text: string) => string {
  const values = new Set<string>()
  for (const { username, password } of secrets) {
    if (password.length < MIN_SECRET_LENGTH) continue
    values.add(password)
    if (username) values.add(Buffer.from(`${username}:${password}`).toString('base64'))
  }
  const ordered = [...values].sort((a, b) => b.length - a.length)
  return (text) => {
    let redacted = text.replace(URL_USERINFO, '$1***@')
    for (const value of ordered) if (redacted.includes(value)) redacted = redacted.split(value).join('***')
    return redacted
  }
}

/**
 * The forms a build secret's value takes in a log: the whole text, and each line of a value of
 * several lines (a step that prints a private key prints it line by line, and the log stores
 * lines). The value's base64 is added as a whole; a base64 of part of it, or any other encoding a
 * step chooses, is not recognised (docs/guides/build-secrets.md says so).
 */
export function secretValueForms (value: Buffer): { password: string }[] {
  const text = value.toString('utf8').trim()
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length >= MIN_SECRET_LENGTH && !/^-----(BEGIN|END) /.test(line))
  return [...new Set([text, ...lines, value.toString('base64')])].map((form) => ({ password: form }))
}

/** A JSON-like value with every string in it redacted, at any depth. */
export function redactAll<T> (value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T
  if (Array.isArray(value)) return value.map((item: unknown) => redactAll(item, redact)) as T
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, redactAll(field as unknown, redact)])) as T
  }
  return value
}
