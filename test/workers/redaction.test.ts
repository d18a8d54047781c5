import t from 'tap'
import { secretValueForms, createRedactor, redactAll } from '../../workers/redaction.js'

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

t.test("a build secret's value is masked whole, line by line and as base64; its PEM armour lines are not secret", async (t) => {
  const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nAAAAMwAAAAtzc2gtZWQyNTUxOQAAACDx\n-----END OPENSSH PRIVATE KEY-----\n'
  const redact = createRedactor([...secretValueForms(Buffer.from('npm-token-123\n')), ...secretValueForms(Buffer.from(key))])
  t.equal(redact('//registry/:_authToken=npm-token-123'), '//registry/:_authToken=***')
  t.equal(redact('printed: bnBtLXRva2VuLTEyMwo='), 'printed: ***', 'the base64 of the whole value')
  t.equal(redact('b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ'), '***', 'one line of a key, as a step prints it')
  t.equal(redact('-----BEGIN OPENSSH PRIVATE KEY-----'), '-----BEGIN OPENSSH PRIVATE KEY-----')
})
