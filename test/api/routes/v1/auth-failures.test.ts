import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildApp } from '../../../helpers/app.js'
import { TEST_ADMIN_TOKEN, testConfig } from '../../../helpers/config.js'

// Token guessing as an attacker does it: many wrong tokens from one address. Past the limit every
// token check from that address is refused without looking the token up, valid tokens included,
// so the answer tells nothing; other addresses are not affected.

const LIMIT = 30
const guess = (n: number) => ({ authorization: `Bearer slw_guess-${n}-${'x'.repeat(30)}` })
const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }

t.test('a guessing flood from one address is cut off; other addresses and valid tokens elsewhere go on', async (t) => {
  const config = testConfig(t, { authFailuresPerMinute: LIMIT })
  const app = await buildApp(t, config)
  const from = (remoteAddress: string, headers: Record<string, string>, extra: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url: '/v1/builds', remoteAddress, headers: { ...headers, ...extra } })

  const answers = await Promise.all(Array.from({ length: LIMIT + 20 }, (_, n) => from('203.0.113.9', guess(n))))
  const statuses = answers.map((answer) => answer.statusCode)
  t.equal(statuses.filter((status) => status === 401).length, LIMIT, `${LIMIT} guesses are answered 401`)
  t.equal(statuses.filter((status) => status === 429).length, 20, 'every guess past them is refused')
  const limited = answers.find((answer) => answer.statusCode === 429)!
  t.equal(limited.json().code, 'AUTH_FAILURES_LIMITED')
  t.match(limited.json().message, /SLIPWAY_AUTH_FAILURES_PER_MINUTE/)
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After until the window ends (${retryAfter} s)`)

  const valid = await from('203.0.113.9', admin)
  t.equal(valid.statusCode, 429, 'a valid token from that address is refused too: no oracle')
  t.equal(valid.json().code, 'AUTH_FAILURES_LIMITED')
  t.equal((await from('203.0.113.9', admin, { 'x-forwarded-for': '198.51.100.77' })).statusCode, 429, 'X-Forwarded-For is ignored unless a proxy is trusted')

  t.equal((await from('198.51.100.7', admin)).statusCode, 200, 'a valid token from another address works')
  t.equal((await from('198.51.100.7', guess(1))).statusCode, 401, 'and a wrong one there is a plain 401')

  // A signature that does not match on a trigger endpoint is not a token guess: GitHub's shared
  // addresses must not be locked out by one misconfigured repository.
  for (let n = 0; n < LIMIT + 5; n++) {
    const event = await app.inject({
      method: 'POST',
      url: '/v1/triggers/github',
      remoteAddress: '192.0.2.50',
      headers: { authorization: '', 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': `d-${n}`, 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
      payload: JSON.stringify({ ref: 'refs/heads/main', after: 'a'.repeat(40), repository: { clone_url: 'https://github.com/acme/app.git' } })
    })
    t.equal(event.statusCode, 401)
  }
  t.equal((await from('192.0.2.50', admin)).statusCode, 200, 'signature failures do not count against the address')
})

t.test('IPv6: the addresses of one /64 are one client', async (t) => {
  const config = testConfig(t, { authFailuresPerMinute: 3 })
  const app = await buildApp(t, config)
  const from = (remoteAddress: string, headers: Record<string, string>) => app.inject({ method: 'GET', url: '/v1/builds', remoteAddress, headers })
  for (let n = 0; n < 3; n++) t.equal((await from(`2001:db8:1:2::${n + 1}`, guess(n))).statusCode, 401)
  t.equal((await from('2001:db8:1:2:ffff::9', admin)).statusCode, 429, 'another address of the same /64 is limited')
  t.equal((await from('2001:db8:1:3::1', admin)).statusCode, 200, 'the next /64 is not')
})

t.test('behind a trusted proxy, the client is the address the proxy saw, not one a client wrote', async (t) => {
  const config = testConfig(t, { authFailuresPerMinute: 3, trustProxy: '127.0.0.1' })
  const app = await buildApp(t, config)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  // The proxy appends the address it saw; whatever the client wrote before it is not trusted.
  const through = (client: string, headers: Record<string, string>, forged = '') =>
    fetch(`${base}/v1/builds`, { headers: { ...headers, 'x-forwarded-for': forged ? `${forged}, ${client}` : client } })

  for (let n = 0; n < 3; n++) t.equal((await through('198.51.100.20', guess(n), `10.9.9.${n}`)).status, 401)
  t.equal((await through('198.51.100.20', admin, '10.9.9.99')).status, 429, 'the guesser is limited whatever it forges')
  t.equal((await through('198.51.100.21', admin)).status, 200, 'another client behind the same proxy is not')
})
