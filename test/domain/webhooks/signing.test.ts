import { createHmac, randomBytes } from 'node:crypto'
import t from 'tap'
import { generateSecret, isValidSecret, signatureHeader, webhookHeaders } from '../../../src/domain/webhooks/signing.js'

/** The spec's scheme, computed here independently: HMAC-SHA256 keyed with the base64 after "whsec_". */
function expectedSignature (secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  return 'v1,' + createHmac('sha256', key).update(`${id}.${timestamp}.${body}`, 'utf8').digest('base64')
}

t.test('generateSecret: whsec_ and the base64 of 32 random bytes', async (t) => {
  const secrets = new Set<string>()
  for (let i = 0; i < 20; i++) {
    const secret = generateSecret()
    t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
    t.equal(Buffer.from(secret.slice(6), 'base64').length, 32)
    t.ok(isValidSecret(secret), 'valid by our own rule')
    secrets.add(secret)
  }
  t.equal(secrets.size, 20, 'never the same twice')
})

t.test('isValidSecret: optional prefix, strict base64, 24 to 64 bytes', async (t) => {
  const of = (bytes: number) => randomBytes(bytes).toString('base64')
  const valid = [
    'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    `whsec_${of(24)}`,
    `whsec_${of(64)}`,
    of(40),
    `whsec_${of(32).replace(/=+$/, '')}`
  ]
  for (const secret of valid) t.ok(isValidSecret(secret), `valid: ${secret.slice(0, 16)}… (${secret.length})`)
  const invalid: [string, string][] = [
    ['', 'empty'],
    ['whsec_', 'prefix only'],
    [`whsec_${of(23)}`, '23 bytes'],
    [`whsec_${of(65)}`, '65 bytes'],
    ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!', 'not base64'],
    ['whsec_MfKQ9r8GKYqrTwjU PD8ILPZIo2LaLaSw', 'a space'],
    ['whsec_MfKQ9r8GKYqrTwjU-D8ILPZIo2LaLaSw', 'base64url alphabet'],
    [`whsec_${of(32).slice(0, -2)}B=`, 'stray bits after the last byte'],
    ['whsec_=MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'padding in front'],
    [`whsec_whsec_${of(32)}`, 'doubled prefix']
  ]
  for (const [secret, why] of invalid) t.notOk(isValidSecret(secret), `invalid: ${why}`)
  // Without the prefix a secret is just base64, so any base64 text of 24 to 64 bytes is one.
  t.ok(isValidSecret('password1234567890password1234567890'), 'prefixless text that happens to be base64 is accepted, as the spec libraries do')
})

t.test('signatureHeader matches an independent computation', async (t) => {
  const secret = generateSecret()
  const id = 'msg_01J9Z3K8Q4S6T7V8W9X0Y1Z2A3'
  const timestamp = 1_732_000_000
  const bodies = ['{}', '{"type":"build.succeeded","data":{"id":"x"}}', '{"text":"naïve ✅ 日本"}', '']
  for (const body of bodies) {
    t.equal(signatureHeader([secret], id, timestamp, body), expectedSignature(secret, id, timestamp, body), `body ${JSON.stringify(body)}`)
  }
  t.not(signatureHeader([secret], id, timestamp, '{}'), signatureHeader([secret], id, timestamp + 1, '{}'), 'the timestamp is signed')
  t.not(signatureHeader([secret], id, timestamp, '{}'), signatureHeader([secret], 'msg_other', timestamp, '{}'), 'the id is signed')
  t.equal(
    signatureHeader([secret.slice(6)], id, timestamp, '{}'),
    signatureHeader([secret], id, timestamp, '{}'),
    'the whsec_ prefix does not change the key'
  )
})

t.test("the spec's published test vector", async (t) => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek'
  const timestamp = 1614265330
  const body = '{"test": 2432232314}'
  const published = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
  // Checked against the independent computation first, so the vector is known to be recalled right.
  t.equal(expectedSignature(secret, id, timestamp, body), published, 'independent HMAC agrees with the published vector')
  t.equal(signatureHeader([secret], id, timestamp, body), published)
})

t.test('several secrets during a rotation: one signature each, space-separated, in order', async (t) => {
  const current = generateSecret()
  const previous = generateSecret()
  const header = signatureHeader([current, previous], 'msg_1', 1700000000, '{"a":1}')
  const parts = header.split(' ')
  t.equal(parts.length, 2)
  t.equal(parts[0], expectedSignature(current, 'msg_1', 1700000000, '{"a":1}'))
  t.equal(parts[1], expectedSignature(previous, 'msg_1', 1700000000, '{"a":1}'))
  for (const part of parts) t.match(part, /^v1,[A-Za-z0-9+/]{43}=$/)
})

t.test('refuses to sign what a receiver could not verify or could misread', async (t) => {
  const secret = generateSecret()
  t.throws(() => signatureHeader([], 'msg_1', 1, '{}'), /at least one signing secret/)
  const bad = 'whsec_not-a-secret!'
  t.throws(() => signatureHeader([secret, bad], 'msg_1', 1, '{}'), /Signing secret #2 is not/)
  try {
    signatureHeader([bad], 'msg_1', 1, '{}')
  } catch (error) {
    t.notMatch((error as Error).message, /not-a-secret/, 'never echoes a secret')
  }
  for (const id of ['', 'msg.1', 'msg 1', 'msg\n1', 'x'.repeat(257)]) {
    t.throws(() => signatureHeader([secret], id, 1, '{}'), /message id/, `id ${JSON.stringify(id.slice(0, 20))}`)
  }
  for (const timestamp of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => signatureHeader([secret], 'msg_1', timestamp, '{}'), /timestamp/, `timestamp ${timestamp}`)
  }
})

t.test('webhookHeaders', async (t) => {
  const secret = generateSecret()
  const body = '{"type":"build.queued"}'
  const headers = webhookHeaders([secret], 'msg_abc', 1700000123, body)
  t.same(headers, {
    'content-type': 'application/json',
    'webhook-id': 'msg_abc',
    'webhook-timestamp': '1700000123',
    'webhook-signature': expectedSignature(secret, 'msg_abc', 1700000123, body)
  })
  for (const [name, value] of Object.entries(headers)) {
    t.equal(name, name.toLowerCase(), `${name} is lower case`)
    t.match(value, /^[\x20-\x7e]+$/, `${name} is a valid header value`)
  }
})
