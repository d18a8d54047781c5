import t from 'tap'
import { gitAuthFor, NO_GIT_AUTH, type GitCredential } from '../../workers/git-credentials.js'

// Which credential a repository URL gets: by its host, in every spelling the API accepts.

const credentials = new Map<string, GitCredential>([
  ['github.com', { sshKeyFile: '/keys/github' }],
  ['git.example.com:8443', { token: 'tok-port' }]
])

t.test('scp-like URLs, with or without a user, and ssh:// URLs get the host key', async (t) => {
  for (const url of ['git@github.com:org/app.git', 'github.com:org/app.git', 'ssh://git@github.com/org/app.git']) {
    t.match(gitAuthFor(url, credentials).env, { GIT_SSH_COMMAND: /-i '\/keys\/github'/ }, url)
  }
})

t.test('https URLs are matched by host and port; unknown hosts get nothing', async (t) => {
  t.match(gitAuthFor('https://git.example.com:8443/team/app.git', credentials).env, { GIT_CONFIG_KEY_0: 'http.https://git.example.com:8443/.extraHeader' })
  t.equal(gitAuthFor('https://gitlab.example.com/team/app.git', credentials), NO_GIT_AUTH)
})
