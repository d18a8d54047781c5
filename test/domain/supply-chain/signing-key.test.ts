import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto'
import t from 'tap'
import { parseSigningKey, signingKeyProblem } from '../../../src/domain/supply-chain/signing-key.js'
import { loadConfig } from '../../../src/domain/config.js'

const pemOf = (type: 'ec' | 'rsa' | 'ed25519', options: object = {}) =>
  (generateKeyPairSync as (type: string, options: object) => { privateKey: { export(o: object): string | Buffer } })(type, options).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

t.test('an ECDSA P-256 key signs in DER that its public key verifies; its id is the public key digest', async (t) => {
  const pem = pemOf('ec', { namedCurve: 'prime256v1' })
  const key = parseSigningKey(pem)
  const data = Buffer.from('payload')
  t.ok(verify('sha256', data, createPublicKey(key.publicKeyPem), Buffer.from(key.sign(data), 'base64')))
  t.match(key.keyId, /^sha256:[0-9a-f]{64}$/)
  t.equal(parseSigningKey(pem.replace(/\n/g, '\\n')).keyId, key.keyId, 'newlines written as \\n, as one-line settings have them')
  t.notMatch(key.publicKeyPem, /PRIVATE/)
})

t.test('other keys are refused with how to make a right one, and never echoed', async (t) => {
  t.equal(signingKeyProblem(''), null, 'empty: no signing')
  t.match(signingKeyProblem(pemOf('rsa', { modulusLength: 2048 })), /must be an ECDSA P-256 key.*this one is rsa/)
  t.match(signingKeyProblem(pemOf('ec', { namedCurve: 'secp384r1' })), /this one is ec on secp384r1/)
  t.match(signingKeyProblem(pemOf('ed25519')), /ECDSA P-256/)
  t.match(signingKeyProblem('-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----'), /unencrypted private key in PEM.*openssl ecparam/)
  const wrong = 'sekret-not-a-key'
  const message = (() => {
    try {
      loadConfig({ SLIPWAY_SIGNING_KEY: wrong })
      return ''
    } catch (error) {
      return (error as Error).message
    }
  })()
  t.match(message, /SLIPWAY_SIGNING_KEY: must be an unencrypted private key/, 'the setting is refused at start')
  t.notMatch(message, wrong, 'without its value')
})
