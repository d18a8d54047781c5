import { createHmac, randomBytes } from 'node:crypto'

// Deliveries are signed as Standard Webhooks (https://www.standardwebhooks.com/) specifies, so a
// receiver can verify them with any of its libraries (standardwebhooks, svix) rather than code of
// its own: HMAC-SHA256 over "{id}.{timestamp}.{body}", keyed with the base64-decoded secret, sent
// as "v1,<base64>" in webhook-signature.

export const SECRET_PREFIX = 'whsec_'
/** The spec's bounds on a symmetric key: at least 24 bytes (192 bits), at most 64 (512 bits). */
export const MIN_SECRET_BYTES = 24
export const MAX_SECRET_BYTES = 64

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
// The id goes into a header and into the signed content, where a "." would make
// "{id}.{timestamp}" ambiguous: the spec asks that ids never contain one.
const MESSAGE_ID = /^[\x21-\x2d\x2f-\x7e]{1,256}$/

/** A new secret: "whsec_" and the base64 of 32 random bytes. */
export function generateSecret (): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64')
}

/** Whether `secret` is "[whsec_]<base64 of 24 to 64 bytes>"; the prefix is optional, as in the spec's libraries. */
export function isValidSecret (secret: string): boolean {
  return secretKey(secret) !== undefined
}

/**
 * The webhook-signature header: "v1,<signature>" for each secret, space-separated. Several
 * secrets sign side by side while one is being rotated out, so receivers holding either verify.
 * Throws when there is no secret or one is invalid (its value is never in the message), or when
 * the id or timestamp could make the signed content ambiguous.
 */
export function signatureHeader (secrets: string[], id: string, timestampSeconds: number, body: string): string {
  if (secrets.length === 0) throw new Error('A webhook delivery needs at least one signing secret; none was given.')
  if (!MESSAGE_ID.test(id)) throw new Error('A webhook message id must be 1 to 256 printable ASCII characters, without spaces or ".".')
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new Error('A webhook timestamp must be a whole number of seconds since the epoch.')
  }
  const keys = secrets.map((secret, index) => {
    const key = secretKey(secret)
    if (!key) {
      throw new Error(
        `Signing secret #${index + 1} is not a Standard Webhooks secret ("whsec_" and the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes).`
      )
    }
    return key
  })
  return keys.map((key) => `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`).join(' ')
}

/** Every header a delivery carries besides its transport ones: the Standard Webhooks trio and the content type. */
export function webhookHeaders (secrets: string[], id: string, timestampSeconds: number, body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatureHeader(secrets, id, timestampSeconds, body)
  }
}

/** The HMAC key a secret stands for, or undefined when it is not a valid one. */
function secretKey (secret: string): Buffer | undefined {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  if (!BASE64.test(encoded)) return undefined
  // Buffer.from skips what is not base64 and ignores stray bits; only a string that encodes the
  // bytes exactly (padding optional) is accepted, so two spellings never make one key.
  const key = Buffer.from(encoded, 'base64')
  if (key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) return undefined
  if (encoded.includes('=') && encoded.length % 4 !== 0) return undefined
  return key.length >= MIN_SECRET_BYTES && key.length <= MAX_SECRET_BYTES ? key : undefined
}
