import { randomUUID } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import t, { type Test } from 'tap'
import { gitAuthFor, NO_GIT_AUTH, type GitCredential } from '../../../workers/source/git-credentials.js'
import { cloneSource } from '../../../workers/source/clone.js'
import { tempFolder } from '../../helpers/files.js'
import { startGitHttpServer } from '../../helpers/git-http-server.js'
import { createRepo } from '../../helpers/git-repo.js'
import { createTestCertificate } from '../../helpers/tls-certificate.js'

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
  t.match(gitAuthFor('https://git.example.com:8443/team/app.git', credentials).env, { GIT_CONFIG_KEY_1: 'credential.https://git.example.com:8443.helper' })
  t.equal(gitAuthFor('https://gitlab.example.com/team/app.git', credentials), NO_GIT_AUTH)
})

t.test('a token is bound to https://host whatever the repository URL; a plain http one is told why it goes without', async (t) => {
  const tokens = new Map<string, GitCredential>([['git.example.com', { token: 'tok' }]])
  for (const url of ['https://git.example.com/team/app.git', 'ssh://git@git.example.com/team/app.git', 'http://git.example.com/team/app.git']) {
    t.match(gitAuthFor(url, tokens).env, { GIT_CONFIG_KEY_1: 'credential.https://git.example.com.helper' }, url)
  }
  t.notOk(gitAuthFor('https://git.example.com/team/app.git', tokens).note)
  t.match(gitAuthFor('http://git.example.com/team/app.git', tokens).note, /sent over https only/)
})

// Through real git and real servers: a host's token is offered to https://host alone.

async function privateRepos (t: Test) {
  const root = await tempFolder(t, {}, 'slipway-git-root-')
  const bare = (name: string) => path.join(root, 'team', `${name}.git`)
  const library = await createRepo(t, { 'lib.txt': 'library\n' })
  const app = await createRepo(t, { Dockerfile: 'FROM busybox\n' })
  await app.git('-c', 'protocol.file.allow=always', 'submodule', 'add', '--quiet', library.url, 'lib')
  // On the server, beside the repository: wherever the repository is fetched from, so is this.
  await app.git('config', '--file', '.gitmodules', 'submodule.lib.url', '../lib.git')
  await app.git('commit', '--quiet', '-am', 'library')
  await mkdir(path.join(root, 'team'))
  await app.git('clone', '--quiet', '--bare', app.dir, bare('app'))
  await app.git('clone', '--quiet', '--bare', library.dir, bare('lib'))
  const token = `tok-${randomUUID()}`
  const credentials = new Map<string, GitCredential>([['127.0.0.1', { username: 'deploy', token }]])
  return { root, app: bare('app'), token, credentials, basic: `Basic ${Buffer.from(`deploy:${token}`).toString('base64')}` }
}

async function cloneWith (t: Test, repo: string, env: Record<string, string>, submodules = false) {
  const dir = path.join(await tempFolder(t, {}, 'slipway-credentials-clone-'), 'clone')
  const log: string[] = []
  const done = cloneSource({
    repo,
    ref: null,
    dir,
    policy: { allowLocal: false, allowHttp: true },
    env,
    submodules,
    signal: new AbortController().signal,
    log: (_stream, text) => log.push(text)
  })
  return { dir, done, log }
}

t.test('over plain http the token is never sent: not to the repository, not to its submodule', async (t) => {
  const repos = await privateRepos(t)
  // A server that answers anyone: whatever git offers, it sees.
  const server = await startGitHttpServer(t, repos.root)
  const repo = server.urlOf(repos.app)
  const { dir, done } = await cloneWith(t, repo, gitAuthFor(repo, repos.credentials).env, true)
  await done
  t.equal(await readFile(path.join(dir, 'lib', 'lib.txt'), 'utf8'), 'library\n', 'the repository and its submodule were fetched over http')
  t.ok(server.seen.some((request) => request.url.startsWith('/team/lib.git/')), 'the submodule came from the same server')
  t.strictSame(server.seen.filter((request) => request.authorization !== undefined), [], 'no request carried an Authorization header')
})

t.test('an https server that redirects to plain http: the token goes over https alone', async (t) => {
  const repos = await privateRepos(t)
  const certificate = await createTestCertificate(t)
  const plain = await startGitHttpServer(t, repos.root)
  const secure = await startGitHttpServer(t, repos.root, { credentials: { username: 'deploy', password: repos.token }, tls: certificate, redirectTo: plain.base })
  const repo = secure.urlOf(repos.app)
  const env = { ...gitAuthFor(repo, repos.credentials).env, GIT_SSL_CAINFO: certificate.certFile }
  await (await cloneWith(t, repo, env)).done.catch(() => undefined)
  t.ok(secure.seen.some((request) => request.authorization === repos.basic), 'the https server was given the token')
  t.ok(plain.seen.length > 0, 'git followed the redirect')
  t.strictSame(plain.seen.filter((request) => request.authorization !== undefined), [], 'the http server never saw an Authorization header')
})

t.test('over https the token opens a private repository and its submodule on the same host', async (t) => {
  const repos = await privateRepos(t)
  const certificate = await createTestCertificate(t)
  const server = await startGitHttpServer(t, repos.root, { credentials: { username: 'deploy', password: repos.token }, tls: certificate })
  const repo = server.urlOf(repos.app)
  const { dir, done } = await cloneWith(t, repo, { ...gitAuthFor(repo, repos.credentials).env, GIT_SSL_CAINFO: certificate.certFile }, true)
  await done
  t.equal(await readFile(path.join(dir, 'lib', 'lib.txt'), 'utf8'), 'library\n')
  t.ok(server.seen.some((request) => request.url.startsWith('/team/lib.git/') && request.authorized), 'the submodule was fetched with the token')
})
