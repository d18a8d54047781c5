import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

// The operator's key (SLIPWAY_SECRETS_KEY) and the envelope secret values are kept in: AES-256-GCM
// with a random 12-byte IV, and the secret's id and kind as additional authenticated data, so a
// ciphertext copied to another id (or kind) fails to open. Beside each sealed value is the
// fingerprint of the key that sealed it, so opening picks the current or the previous key.

const KEY_BYTES = 32
const IV_BYTES = 12
const HOW_TO_MAKE = 'make one with `openssl rand -base64 32`'

/** The key's bytes from its setting: 32 bytes as 64 hex digits or as base64 (standard or URL-safe, padded or not); null otherwise. */
export function parseSecretsKey (text: string): Buffer | null {
  const value = text.trim()
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex')
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    const bytes = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
    if (bytes.length === KEY_BYTES) return bytes
  }
  return null
}

/** What is wrong with a value of SLIPWAY_SECRETS_KEY(_PREVIOUS), or null; never echoes the value. */
export function secretsKeyProblem (value: unknown): string | null {
  if (value === '' || value === undefined) return null
  if (typeof value === 'string' && parseSecretsKey(value) !== null) return null
  return `must be 32 random bytes, written as base64 (44 characters) or as 64 hex digits (not shown: it is a secret); ${HOW_TO_MAKE}`
}

/** What to tell someone who has no key set. */
export const SECRETS_KEY_HINT = `set SLIPWAY_SECRETS_KEY to 32 random bytes (${HOW_TO_MAKE}) and restart the API and the workers`

/** A short name of a key, stored beside what it sealed; one-way, so it tells nothing of the key. */
export function keyFingerprint (key: Buffer): string {
  return createHash('sha256').update('slipway secrets key\0').update(key).digest('hex').slice(0, 16)
}

/** The keys values are sealed with (current) and may still be sealed with (previous, during a rotation). */
export interface Keyring {
  current: Buffer
  previous: Buffer | null
}

/** The keyring the settings give; null without SLIPWAY_SECRETS_KEY. The settings are checked at start-up (config.ts). */
export function keyringOf (settings: { secretsKey: string; secretsKeyPrevious: string }): Keyring | null {
  const current = parseSecretsKey(settings.secretsKey)
  if (!current) return null
  return { current, previous: parseSecretsKey(settings.secretsKeyPrevious) }
}

/** A sealed value as stored: base64 fields and the fingerprint of the key. */
export interface Sealed {
  v: 1
  key: string
  iv: string
  tag: string
  data: string
}

const aad = (id: string, kind: string) => Buffer.from(`slipway secret\0${id}\0${kind}`)

/** Seals a value under the keyring's current key, bound to the secret's id and kind. */
export function seal (keyring: Keyring, id: string, kind: string, value: Buffer): Sealed {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', keyring.current, iv)
  cipher.setAAD(aad(id, kind))
  const data = Buffer.concat([cipher.update(value), cipher.final()])
  return { v: 1, key: keyFingerprint(keyring.current), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') }
}

/** Why a sealed value could not be opened. */
export class SecretUnreadable extends Error {
  override name = 'SecretUnreadable'
}

/** The key among the keyring's that sealed this value, or null when neither did. */
export function sealingKey (keyring: Keyring, sealed: Pick<Sealed, 'key'>): Buffer | null {
  for (const key of [keyring.current, keyring.previous]) if (key && keyFingerprint(key) === sealed.key) return key
  return null
}

/**
 * Opens a sealed value of the secret `id` of `kind`. Throws SecretUnreadable when neither key
 * sealed it, or when it was not sealed for this id and kind (or was altered).
 */
export function open (keyring: Keyring, id: string, kind: string, sealed: Sealed): Buffer {
  const key = sealingKey(keyring, sealed)
  if (!key) {
    throw new SecretUnreadable(
      `secret '${id}' was sealed with a key that is neither SLIPWAY_SECRETS_KEY nor SLIPWAY_SECRETS_KEY_PREVIOUS (fingerprint ${sealed.key}); set the key it was sealed with as SLIPWAY_SECRETS_KEY_PREVIOUS`
    )
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'))
    decipher.setAAD(aad(id, kind))
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'))
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()])
  } catch {
    throw new SecretUnreadable(`secret '${id}' does not open: its stored value was not sealed for this id and kind, or was altered`)
  }
}
