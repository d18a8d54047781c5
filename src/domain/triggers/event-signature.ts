import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** A new trigger secret: 256 random bits, in characters both GitHub's and GitLab's settings accept. */
export function generateTriggerSecret (): string {
  return randomBytes(32).toString('base64url')
}

/**
 * Whether X-Hub-Signature-256 ("sha256=<hex HMAC-SHA256 of the body>") was made with one of the
 * secrets: GitHub signs the exact bytes it sends, so `body` must be the raw body, unparsed.
 */
export function verifyGitHubSignature (header: string, body: Buffer, secrets: readonly string[]): boolean {
  const presented = header.trim().toLowerCase()
  if (!/^sha256=[0-9a-f]{64}$/.test(presented)) return false
  return anyMatch(secrets, (secret) => timingSafeEqual(Buffer.from(gitHubSignature(secret, body)), Buffer.from(presented)))
}

/** Whether X-Gitlab-Token is one of the secrets. Both sides are hashed first, so the compare takes the same time whatever their lengths. */
export function verifyGitLabToken (header: string, secrets: readonly string[]): boolean {
  const presented = sha256(header)
  return anyMatch(secrets, (secret) => timingSafeEqual(sha256(secret), presented))
}

/** X-Hub-Signature-256 as GitHub makes it for this body. */
export function gitHubSignature (secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

const sha256 = (text: string) => createHash('sha256').update(text).digest()

// Every secret is tried, not only up to the first match, so the time taken does not tell which rule's secret it was.
function anyMatch (secrets: readonly string[], matches: (secret: string) => boolean): boolean {
  let matched = false
  for (const secret of secrets) matched = matches(secret) || matched
  return matched
}
