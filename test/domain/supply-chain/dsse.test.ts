import { generateKeyPairSync, verify } from 'node:crypto'
import t from 'tap'
import { inTotoEnvelope, preAuthEncoding } from '../../../src/domain/supply-chain/dsse.js'
import { parseSigningKey } from '../../../src/domain/supply-chain/signing-key.js'

t.test("PAE is the DSSE spec's own example, byte for byte", async (t) => {
  // https://github.com/secure-systems-lab/dsse/blob/master/protocol.md#test-vectors
  t.equal(preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world')
  t.equal(preAuthEncoding('t', Buffer.from('é')).toString(), 'DSSEv1 1 t 2 é', 'lengths count bytes, not characters')
})

t.test('an envelope signs the PAE of its type and payload, never the payload alone', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const key = parseSigningKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())
  const statement = { _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'x', predicate: { a: 1 } }
  const envelope = inTotoEnvelope(statement, key.sign)
  const payload = Buffer.from(envelope.payload, 'base64')
  t.same(JSON.parse(payload.toString()), statement)
  t.equal(envelope.payloadType, 'application/vnd.in-toto+json')
  t.equal(envelope.signatures[0]!.keyid, '', "cosign's convention: the verifier brings the key")
  const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64')
  t.ok(verify('sha256', preAuthEncoding(envelope.payloadType, payload), publicKey, sig))
  t.notOk(verify('sha256', payload, publicKey, sig), 'a signature over the bare payload would be movable to another type')
  t.same(inTotoEnvelope(statement, null).signatures, [], 'no key: attached unsigned')
})
