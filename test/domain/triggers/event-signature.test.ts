import t from 'tap'
import { generateTriggerSecret, gitHubSignature, verifyGitHubSignature, verifyGitLabToken } from '../../../src/domain/triggers/event-signature.js'

// GitHub's own example, from its guide to validating webhook deliveries.
const GITHUB_SECRET = "It's a Secret to Everybody"
const GITHUB_BODY = Buffer.from('Hello, World!')
const GITHUB_SIGNATURE = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'

t.test('X-Hub-Signature-256: GitHub\'s example verifies', async (t) => {
  t.equal(gitHubSignature(GITHUB_SECRET, GITHUB_BODY), GITHUB_SIGNATURE, 'made as GitHub makes it')
  t.ok(verifyGitHubSignature(GITHUB_SIGNATURE, GITHUB_BODY, [GITHUB_SECRET]))
  t.ok(verifyGitHubSignature(GITHUB_SIGNATURE.toUpperCase().replace('SHA256=', 'sha256='), GITHUB_BODY, [GITHUB_SECRET]), 'hex in capitals')
  t.ok(verifyGitHubSignature(GITHUB_SIGNATURE, GITHUB_BODY, ['another secret of the repository', GITHUB_SECRET]), 'any of the secrets')
})

t.test('X-Hub-Signature-256: refused for another body, secret or form', async (t) => {
  t.notOk(verifyGitHubSignature(GITHUB_SIGNATURE, Buffer.from('Hello, World! '), [GITHUB_SECRET]), 'one byte more')
  t.notOk(verifyGitHubSignature(GITHUB_SIGNATURE, Buffer.from('{"a":1}'), [GITHUB_SECRET]), 'another body')
  t.notOk(verifyGitHubSignature(GITHUB_SIGNATURE, GITHUB_BODY, ["It's a secret to everybody"]), 'another secret')
  t.notOk(verifyGitHubSignature(GITHUB_SIGNATURE, GITHUB_BODY, []), 'no secret')
  const hex = GITHUB_SIGNATURE.slice('sha256='.length)
  for (const header of [hex, `sha1=${hex}`, 'sha256=', `sha256=${hex.slice(0, 63)}`, `sha256=${hex}00`, `sha256=${hex.slice(0, 63)}g`, '']) {
    t.notOk(verifyGitHubSignature(header, GITHUB_BODY, [GITHUB_SECRET]), `refused: '${header}'`)
  }
})

t.test('X-Gitlab-Token: equal to one of the secrets, nothing else', async (t) => {
  const secret = generateTriggerSecret()
  t.ok(verifyGitLabToken(secret, [secret]))
  t.ok(verifyGitLabToken(secret, ['another-secret-0123456789', secret]))
  t.notOk(verifyGitLabToken(secret.slice(0, -1), [secret]), 'a prefix')
  t.notOk(verifyGitLabToken(`${secret}x`, [secret]), 'longer')
  t.notOk(verifyGitLabToken('', [secret]), 'empty')
  t.notOk(verifyGitLabToken(secret, []), 'no secret')
})

t.test('generated secrets: 256 random bits in URL-safe characters', async (t) => {
  const secrets = new Set(Array.from({ length: 20 }, generateTriggerSecret))
  t.equal(secrets.size, 20)
  for (const secret of secrets) {
    t.match(secret, /^[A-Za-z0-9_-]{43}$/)
    t.equal(Buffer.from(secret, 'base64url').length, 32)
  }
})
