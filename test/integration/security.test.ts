import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Queue } from 'bullmq'
import t, { type Test } from 'tap'
import type { Build } from '../../src/domain/schemas/build.js'
import { buildApp } from '../helpers/app.js'
import { testConfig } from '../helpers/config.js'
import { tempFolder } from '../helpers/files.js'
import { createRepo } from '../helpers/git-repo.js'
import { redisDump } from '../helpers/redis-keys.js'
import { startGitHttpServer } from '../helpers/git-http-server.js'
import { startSlipway } from '../helpers/slipway.js'
import { createTestCertificate } from '../helpers/tls-certificate.js'
import { writeSubmoduleTrap } from '../helpers/submodule-trap.js'

t.test('a table of 40+ hostile requests: each a 4xx with a code; nothing stored, queued or run', async (t: Test) => {
  const config = testConfig(t, { allowLocalRepos: false })
  const app = await buildApp(t, config)
  const queue = new Queue('builds', { connection: { url: config.redisUrl }, prefix: config.prefix })
  t.teardown(() => queue.close())
  const marker = path.join(os.tmpdir(), `slipway-pwned-${randomUUID()}`)
  const repo = 'https://git.example.com/team/app.git'
  const cases: [string, unknown, string?][] = [
    ['empty body', ''],
    ['an array', [repo]],
    ['a string', repo],
    ['null', null],
    ['no repo', { ref: 'main' }],
    ['unknown field', { repo, privileged: true }],
    ['a docker option smuggled in', { repo, networkmode: 'host' }],
    ['repo as a number', { repo: 42 }],
    ['push as a string', { repo, push: 'true' }],
    ['tags as a string', { repo, tags: 'latest' }],
    ['timeout negative', { repo, timeoutSeconds: -1 }],
    ['timeout fractional', { repo, timeoutSeconds: 1.5 }],
    ['huge build arg', { repo, buildArgs: { BIG: 'x'.repeat(40_000) } }],
    ['too many build args', { repo, buildArgs: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`A${i}`, 'x'])) }],
    ['build arg name with =', { repo, buildArgs: { 'A=B': 'x' } }],
    ['oversized body', { repo, labels: { big: 'x'.repeat(2 * 1024 * 1024) } }],
    ['ext:: transport', { repo: `ext::sh -c touch% ${marker}` }],
    ['fd:: transport', { repo: 'fd::17' }],
    ['option as repo', { repo: `--upload-pack=touch ${marker}` }],
    ['ssh ProxyCommand host', { repo: `ssh://-oProxyCommand=touch ${marker}/x` }],
    ['ssh ProxyCommand scp host', { repo: '-oProxyCommand=touch:x' }],
    ['control characters', { repo: 'https://git.example.com/x\n--upload-pack=touch' }],
    ['local path', { repo: '/etc' }],
    ['file url', { repo: 'file:///etc' }],
    ['plain http', { repo: 'http://git.example.com/app.git' }],
    ['credentials in url', { repo: 'https://bot:ghp_SECRET0123456789@github.com/acme/app.git' }],
    ['token as url user', { repo: 'https://ghp_SECRET0123456789@github.com/acme/app.git' }],
    ['upload-pack as ref', { repo, ref: `--upload-pack=touch ${marker}` }],
    ['option as ref', { repo, ref: '-c' }],
    ['ref with $()', { repo, ref: `$(touch ${marker})` }],
    ['ref with ..', { repo, ref: 'main/../../HEAD' }],
    ['ref with control char', { repo, ref: 'main\u0007' }],
    ['context escapes', { repo, context: '../../etc' }],
    ['absolute context', { repo, context: '/etc' }],
    ['dockerfile escapes', { repo, dockerfile: '../../../etc/passwd' }],
    ['absolute dockerfile', { repo, dockerfile: '/etc/shadow' }],
    ['NUL in path', { repo, dockerfile: 'Dockerfile\u0000.txt' }],
    ['backslash path', { repo, context: '..\\..\\etc' }],
    ['image with tag', { repo, image: 'localhost:5000/app:latest' }],
    ['image with digest', { repo, image: 'app@sha256:' + 'a'.repeat(64) }],
    ['image with shell', { repo, image: `app;touch ${marker}` }],
    ['uppercase image', { repo, image: 'Registry.Example.com/Team/App' }],
    ['tag with slash', { repo, tags: ['a/b'] }],
    ['tag starting with dash', { repo, tags: ['-rm'] }],
    ['tag too long', { repo, tags: ['x'.repeat(129)] }],
    ['Unicode look-alike scheme', { repo: 'һttps://github.com/acme/app' }],
    ['look-alike host and a right-to-left override', { repo: 'https://g\u0456t.example.com/a.git\u202e' }],
    ['look-alike host in punycode', { repo: 'https://xn--gt-hoc.example.com/a.git' }],
    ['Unicode look-alike dash in ref', { repo, ref: '\u2014upload-pack=x' }],
    ['fullwidth slash in path', { repo, context: 'app\uff0f..\uff0f..' }],
    ['webhook to metadata', { repo, webhooks: [{ url: 'http://169.254.169.254/latest/meta-data/' }] }],
    ['webhook to loopback', { repo, webhooks: [{ url: 'http://[::1]:8080/' }] }],
    ['push without image', { repo, push: true }],
    ['timeout past the maximum', { repo, timeoutSeconds: 999_999 }]
  ]
  t.ok(cases.length >= 40, `${cases.length} cases`)
  for (const [name, payload] of cases) {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/builds',
      headers: { 'content-type': 'application/json' },
      payload: typeof payload === 'string' && payload === '' ? '' : JSON.stringify(payload)
    })
    t.ok(response.statusCode >= 400 && response.statusCode < 500, `${name}: ${response.statusCode}`)
    const body = response.json()
    t.match(body.code, /^[A-Z_]+$/, `${name}: ${body.code}`)
    t.notMatch(response.body, /ghp_SECRET/, `${name}: no secret echoed`)
  }
  t.equal(await queue.count(), 0, 'nothing was queued')
  t.same(await app.inject({ method: 'GET', url: '/v1/builds' }).then((r) => r.json().items), [], 'nothing was stored')
  t.notOk(existsSync(marker), 'no injected command ran')
  t.notMatch(await redisDump(config), /ghp_SECRET/, 'no secret reached Redis')
})

t.test('symlinks in a repository cannot reach files of the host', async (t: Test) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, { 'real/Dockerfile': 'FROM busybox\n' })
  await symlink('/etc/passwd', path.join(repo.dir, 'Dockerfile'))
  await symlink('/etc', path.join(repo.dir, 'etc-link'))
  await repo.commit({}, 'links')
  const viaDockerfile = await slipway.build({ repo: repo.url })
  t.match(viaDockerfile.error, { code: 'DOCKERFILE_NOT_FOUND' }, 'a Dockerfile linked to /etc/passwd is not read')
  const viaContext = await slipway.build({ repo: repo.url, context: 'etc-link', dockerfile: 'real/Dockerfile' })
  t.match(viaContext.error, { code: 'CONTEXT_NOT_FOUND' }, 'a context linked to /etc is not sent')

  for (const builder of ['classic', 'buildkit'] as const) {
    const inside = await createRepo(t, {
      Dockerfile: 'FROM busybox\nCOPY . /ctx\nRUN ! grep -q "root:" /ctx/passwd 2>/dev/null && ! ls /ctx/etc/shadow 2>/dev/null\n'
    })
    await symlink('/etc/passwd', path.join(inside.dir, 'passwd'))
    await symlink('/etc', path.join(inside.dir, 'etc'))
    await inside.commit({}, 'links inside')
    const build = await slipway.build({ repo: inside.url, builder })
    t.equal(build.status, 'succeeded', `${builder}: links are sent as links, so no host file is in the image (${JSON.stringify(build.error)})`)
  }
})

t.test('hostile submodules are refused before git fetches them; allowed ones are fetched only when asked', async (t: Test) => {
  const slipway = await startSlipway(t)
  const marker = path.join(os.tmpdir(), `slipway-pwned-${randomUUID()}`)
  const library = await createRepo(t, { 'lib.txt': 'library\n' })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nCOPY . /src\nRUN test -e /src/lib/lib.txt\n' })
  await repo.git('-c', 'protocol.file.allow=always', 'submodule', 'add', '--quiet', library.url, 'lib')
  await repo.git('commit', '--quiet', '-m', 'submodule')
  const without = await slipway.build({ repo: repo.url })
  t.match(without.error, { code: 'BUILD_STEP_FAILED' }, 'submodules are not fetched unless asked')
  const withSubmodules = await slipway.build({ repo: repo.url, submodules: true })
  t.equal(withSubmodules.status, 'succeeded', JSON.stringify(withSubmodules.error))

  await writeFile(path.join(repo.dir, '.gitmodules'), `[submodule "lib"]\n\tpath = lib\n\turl = ext::sh -c touch% ${marker}\n`)
  await repo.commit({}, 'hostile submodule')
  const hostile = await slipway.build({ repo: repo.url, submodules: true })
  t.match(hostile.error, { code: 'SUBMODULE_REFUSED', phase: 'clone' })
  t.notOk(existsSync(marker), 'the ext:: command never ran')
})

t.test('a folder laid out as a bare repository at a submodule path runs nothing on the worker, through a whole build', async (t: Test) => {
  const slipway = await startSlipway(t)
  const marker = path.join(os.tmpdir(), `slipway-pwned-${randomUUID()}`)
  t.teardown(() => rm(marker, { force: true }))
  const library = await createRepo(t, { 'lib.txt': 'library\n' })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nCOPY . /src\n' })
  await writeSubmoduleTrap(t, path.join(repo.dir, 'evil'), marker, library.url)
  await repo.commit({ '.gitmodules': `[submodule "evil"]\n\tpath = evil\n\turl = ${library.url}\n` }, 'the trap')
  const build = await slipway.build({ repo: repo.url, submodules: true })
  t.notOk(existsSync(marker), 'no command of the committed config ran')
  t.equal(build.status, 'succeeded', `the folder is built as plain files (${JSON.stringify(build.error)})`)
})

t.test('a private repository: the token from the credentials file goes over https alone, and into no log, answer or Redis', async (t: Test) => {
  const root = await tempFolder(t, {}, 'slipway-git-root-')
  const source = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo private build\n' })
  const bare = path.join(root, 'team', 'private.git')
  await mkdir(path.dirname(bare), { recursive: true })
  await source.git('clone', '--quiet', '--bare', source.dir, bare)
  const password = `tok-${randomUUID()}`
  const basic = `Basic ${Buffer.from(`deploy:${password}`).toString('base64')}`
  const certificate = await createTestCertificate(t)
  const secure = await startGitHttpServer(t, root, { credentials: { username: 'deploy', password }, tls: certificate })
  const plain = await startGitHttpServer(t, root, { credentials: { username: 'deploy', password } })
  await trustForWorkerGit(t, certificate.certFile)
  const credentialsFile = path.join(root, 'git-credentials.json')
  await writeFile(credentialsFile, JSON.stringify({ '127.0.0.1': { username: 'deploy', token: password } }))

  const refused = await startSlipway(t, { allowHttpRepos: true })
  const anonymous = await refused.build({ repo: secure.urlOf(bare) })
  t.match(anonymous.error, { code: 'REPO_NOT_FOUND' }, 'without credentials the server refuses')

  const slipway = await startSlipway(t, { allowHttpRepos: true, gitCredentialsFile: credentialsFile })
  const build = await slipway.build({ repo: secure.urlOf(bare) })
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  t.ok(secure.seen.some((request) => request.authorization === basic), 'the https server saw the token')
  const overHttp = await slipway.build({ repo: plain.urlOf(bare) })
  t.match(overHttp.error, { code: 'REPO_NOT_FOUND' }, 'over plain http the server gets no token, so it refuses')
  t.strictSame(plain.seen.filter((request) => request.authorization !== undefined), [], 'the http server never saw an Authorization header')
  t.match(await slipway.logs(overHttp.id), /token for 127\.0\.0\.1:\d+ is sent over https only/, 'the log says why')

  for (const { id } of [build, overHttp]) {
    const resource = (await slipway.app.inject({ method: 'GET', url: `/v1/builds/${id}` })).json<Build>()
    const answers = JSON.stringify(resource) + (await slipway.logs(id))
    t.notMatch(answers, password, 'not in the build or its log')
    t.notMatch(answers, basic.slice('Basic '.length))
  }
  t.notMatch(await redisDump(slipway.config), password, 'not in Redis')
})

/**
 * Makes the worker's git trust `certFile` as an operator makes it trust a private CA: in the global
 * git config of the worker's HOME (the worker passes HOME, and nothing else of the kind, to git).
 */
async function trustForWorkerGit (t: Test, certFile: string): Promise<void> {
  const home = t.testdir({ '.gitconfig': `[http]\n\tsslCAInfo = ${certFile}\n` })
  const previous = process.env.HOME
  process.env.HOME = home
  t.teardown(() => {
    if (previous === undefined) delete process.env.HOME
    else process.env.HOME = previous
  })
}
