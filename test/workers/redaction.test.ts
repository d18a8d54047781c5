import t from 'tap'
import { createRedactor } from '../../workers/redaction.js'

t.test('credentials are masked however they appear', async (t) => {
  const redact = createRedactor([{ username: 'builder', password: 's3cret-pa55' }, { password: 'abc' }])
  const cases: [string, string][] = [
    ['login with s3cret-pa55 ok', 'login with *** ok'],
    ['s3cret-pa55s3cret-pa55', '******'],
    [`auth ${Buffer.from('builder:s3cret-pa55').toString('base64')}`, 'auth ***'],
    ['clone https://bot:ghp_TOKEN@github.com/acme/app.git', 'clone https://***@github.com/acme/app.git'],
    ['ssh://deploy@host/x and http://a:b@c', 'ssh://***@host/x and http://***@c'],
    ['abc is too short to be a secret', 'abc is too short to be a secret'],
    ['nothing to hide', 'nothing to hide']
  ]
  for (const [input, expected] of cases) t.equal(redact(input), expected, input)
})
