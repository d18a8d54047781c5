import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto'

// The operator's signing key (SLIPWAY_SIGNING_KEY): an ECDSA P-256 private key in PEM, the kind
// `cosign generate-key-pair` and `openssl ecparam -name prime256v1 -genkey` make. Signatures are
// ECDSA over SHA-256, DER-encoded, as cosign writes and `openssl dgst -sha256 -verify` reads.

const HOW_TO_MAKE = 'make one with `openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt`'

export interface SigningKey {
  /** sha256 of the public key (its DER SubjectPublicKeyInfo), as "sha256:<hex>": names the key on builds and at /v1/signing-key. */
  keyId: string
  /** The public key, PEM (SubjectPublicKeyInfo): what verifiers are given. */
  publicKeyPem: string
  /** The signature of `data`: ECDSA P-256 over SHA-256, DER, base64. */
  sign: (data: Buffer) => string
}

/** What may be shown of a key: everything but the means to sign. */
export type PublicSigningKey = Omit<SigningKey, 'sign'>

export function publicHalf ({ keyId, publicKeyPem }: SigningKey): PublicSigningKey {
  return { keyId, publicKeyPem }
}

/** The key from its setting; throws with what is wrong (never the value) when it is not an unencrypted ECDSA P-256 private key. */
export function parseSigningKey (pem: string): SigningKey {
  const key = privateKeyOf(pem)
  const publicKey = createPublicKey(key)
  const der = publicKey.export({ type: 'spki', format: 'der' })
  return {
    keyId: `sha256:${createHash('sha256').update(der).digest('hex')}`,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (data) => sign('sha256', data, key).toString('base64')
  }
}

/** What is wrong with a value of SLIPWAY_SIGNING_KEY, or null; never echoes the value. */
export function signingKeyProblem (value: unknown): string | null {
  if (value === '' || value === undefined) return null
  if (typeof value !== 'string') return 'must be text: a PEM private key'
  try {
    privateKeyOf(value)
    return null
  } catch (error) {
    return (error as Error).message
  }
}

function privateKeyOf (pem: string): KeyObject {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem.replace(/\\n/g, '\n'), format: 'pem' })
  } catch {
    throw new Error(`must be an unencrypted private key in PEM (not shown: it is a secret); ${HOW_TO_MAKE}`)
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`must be an ECDSA P-256 key, the kind cosign verifies (this one is ${key.asymmetricKeyType ?? 'unknown'}${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''}); ${HOW_TO_MAKE}`)
  }
  return key
}
