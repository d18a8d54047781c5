// DSSE, the envelope in-toto statements travel in (https://github.com/secure-systems-lab/dsse):
// the payload and its type, base64, and signatures over the pre-authentication encoding (PAE) of
// both, so a signature cannot be moved to a payload of another type.

export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json'
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json'

export interface DsseEnvelope {
  payloadType: string
  /** The statement's JSON, base64. */
  payload: string
  /** Empty when the server has no signing key: the envelope is attached, not signed. */
  signatures: { keyid: string; sig: string }[]
}

/** "DSSEv1 <len> <type> <len> <body>": the bytes a DSSE signature is made over. */
export function preAuthEncoding (payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8')
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload])
}

/**
 * An in-toto statement in an envelope, signed with `sign` when there is one. The keyid is left
 * empty, as cosign leaves it: verifiers are given the key, and match by trying it.
 */
export function inTotoEnvelope (statement: unknown, sign: ((data: Buffer) => string) | null): DsseEnvelope {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8')
  return {
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: payload.toString('base64'),
    signatures: sign ? [{ keyid: '', sig: sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload)) }] : []
  }
}
