import t from 'tap'
import { createRedactor, redactAll } from '../../workers/redaction.js'

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

t.test('a record written by a worker is redacted at every depth; what is not text is left as it is', async (t) => {
  const redact = createRedactor([{ password: 's3cret-pa55' }])
  const written = {
    error: { code: 'BUILD_STEP_FAILED', message: 'RUN echo s3cret-pa55 failed', phase: 'build', exitCode: 3 },
    variants: [{ name: 'leaky', sizeBytes: null, tags: [], error: { message: 'via https://u:p@h/x' } }],
    cancelRequested: false
  }
  t.same(redactAll(written, redact), {
    error: { code: 'BUILD_STEP_FAILED', message: 'RUN echo *** failed', phase: 'build', exitCode: 3 },
    variants: [{ name: 'leaky', sizeBytes: null, tags: [], error: { message: 'via https://***@h/x' } }],
    cancelRequested: false
  })
})
