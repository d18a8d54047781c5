import t from 'tap'
import { looksLikeSshPrivateKey, mayUse, repoPatternMatches, repoPatternProblem, type SecretScope } from '../../../src/domain/secrets/secret-access.js'

t.test('repository patterns: host and path, "*" within a component, "**" across; URLs compared by host and path', async (t) => {
  const cases: [string, string, boolean][] = [
    ['github.com/acme/app', 'https://github.com/acme/app.git', true],
    ['github.com/acme/app', 'git@github.com:acme/app.git', true],
    ['github.com/acme/app', 'ssh://git@github.com/acme/app', true],
    ['https://github.com/acme/app.git', 'git@github.com:acme/app.git', true],
    ['GitHub.com/acme/app', 'https://github.com/acme/app', true],
    ['github.com/acme/app', 'https://github.com/acme/app-evil', false],
    ['github.com/acme/app', 'https://github.com.evil.example/acme/app', false],
    ['github.com/acme/*', 'https://github.com/acme/app', true],
    ['github.com/acme/*', 'https://github.com/acme/group/app', false],
    ['github.com/acme/*', 'https://github.com/acmex/app', false],
    ['gitlab.example/team/**', 'https://gitlab.example/team/a/b/c', true],
    ['gitlab.example/team/**', 'https://gitlab.example/team', false],
    ['gitlab.example/**/app', 'https://gitlab.example/a/b/app', true],
    ['git.example/a.b/app', 'https://git.example/aXb/app', false],
    ['**', 'https://anything.example/x', true],
    ['**', '/srv/git/app', true],
    ['/srv/git/*', 'file:///srv/git/app', true]
  ]
  for (const [pattern, repo, matches] of cases) t.equal(repoPatternMatches(pattern, repo), matches, `${pattern} ${matches ? 'matches' : 'does not match'} ${repo}`)
  t.equal(repoPatternProblem('github.com/acme/*'), null)
  t.match(repoPatternProblem('github.com'), /names no repository path/)
  t.match(repoPatternProblem('github.com/a**b'), /"\*\*" stands alone/)
})

t.test('who may use a secret: its kind, its repositories, its tokens; an upload only when its token is named', async (t) => {
  const npm: SecretScope = { id: 'npm', kind: 'secret', repos: ['github.com/acme/*'], tokens: ['ci', 'T9'] }
  const anyToken: SecretScope = { ...npm, tokens: [] }
  const ci = { id: 'T1', name: 'ci' }
  const byId = { id: 'T9', name: 'renamed' }
  const repo = 'https://github.com/acme/app'
  t.ok(mayUse(npm, 'secret', { repo, token: ci }), 'by token name')
  t.ok(mayUse(npm, 'secret', { repo, token: byId }), 'by token id')
  t.notOk(mayUse(npm, 'ssh', { repo, token: ci }), 'another kind')
  t.notOk(mayUse(npm, 'secret', { repo: 'https://github.com/other/app', token: ci }), 'another repository')
  t.notOk(mayUse(npm, 'secret', { repo, token: { id: 'T2', name: 'other' } }), 'another token')
  t.notOk(mayUse(npm, 'secret', { repo, token: null }), 'no token')
  t.ok(mayUse(anyToken, 'secret', { repo, token: { id: 'T2', name: 'other' } }), 'no tokens named: any token')
  t.ok(mayUse(npm, 'secret', { repo: null, token: ci }), 'an upload whose token is named')
  t.notOk(mayUse(anyToken, 'secret', { repo: null, token: ci }), 'an upload, no token named')
})

t.test('an ssh value must look like a private key', async (t) => {
  for (const armour of ['OPENSSH PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'PRIVATE KEY']) {
    t.ok(looksLikeSshPrivateKey(Buffer.from(`-----BEGIN ${armour}-----\nAAAA\n-----END ${armour}-----\n`)), armour)
  }
  t.notOk(looksLikeSshPrivateKey(Buffer.from('ssh-ed25519 AAAAC3Nza... me@host')), 'a public key')
  t.notOk(looksLikeSshPrivateKey(Buffer.from('hunter2')), 'a password')
})
