import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import Docker from 'dockerode'
import t, { type Test } from 'tap'
import type { Build } from '../../src/domain/schemas/build.js'
import { createRepo } from '../helpers/git-repo.js'
import { redisDump } from '../helpers/redis-keys.js'
import { startSlipway } from '../helpers/slipway.js'
import { sshKeyPair, startSshd } from '../helpers/sshd.js'
import { tempFolder } from '../helpers/files.js'
import { tarGz } from '../helpers/tarball.js'
import { startReceiver } from '../helpers/webhook-receiver.js'

// Build secrets through the whole service: a token Slipway holds (POST /v1/secrets), a Dockerfile
// that installs a package from a private index on the host with it (RUN --mount=type=secret), and
// then every place the token could have gone searched for its bytes: the image (`docker save`:
// every layer, the config and its history), the log, the API's answers, the webhook deliveries
// and all of Redis, BullMQ's job data included.

const docker = new Docker()

/** The host's address on Docker's default bridge, where a build's RUN steps reach the host. */
async function bridgeAddress (): Promise<string> {
  const bridge = await docker.getNetwork('bridge').inspect()
  const name = bridge.Options?.['com.docker.network.bridge.name'] ?? 'docker0'
  const { stdout } = await promisify(execFile)('ip', ['-4', '-o', 'addr', 'show', 'dev', name])
  return /inet ([\d.]+)\//.exec(stdout)![1]!
}

/** A package index that serves its one package only with `Authorization: Bearer <token>`. */
async function privateIndex (t: Test, token: string, packageTgz: Buffer) {
  const refused: string[] = []
  const server = createServer((request, response) => {
    if (request.headers.authorization !== `Bearer ${token}`) {
      refused.push(request.url ?? '')
      response.writeHead(401).end('token required\n')
      return
    }
    response.writeHead(200, { 'content-type': 'application/gzip' }).end(packageTgz)
  })
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://${await bridgeAddress()}:${(server.address() as AddressInfo).port}`, refused }
}

/** `docker save` of an image: its layers as uncompressed tars, its config with the history. */
async function savedImage (imageId: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of await docker.getImage(imageId).get()) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const DOCKERFILE = [
  'FROM busybox',
  'ARG INDEX',
  // The install: the token goes to the index in a header, from a file only this step sees.
  'RUN --mount=type=secret,id=npm mkdir /app && wget -q -O /app/pkg.tgz --header "Authorization: Bearer $(cat /run/secrets/npm)" "$INDEX/pkg.tgz" && tar -xzf /app/pkg.tgz -C /app && rm /app/pkg.tgz && cat /app/package/VERSION',
  // A careless step prints it: the log masks it.
  'RUN --mount=type=secret,id=npm echo "the token is $(cat /run/secrets/npm)"',
  ''
].join('\n')

t.test('a package from a private index, with a token Slipway holds: the build gets it, nothing else keeps it', async (t) => {
  const token = `idx-${randomBytes(16).toString('hex')}`
  const version = `private-pkg 1.2.3 ${randomBytes(6).toString('hex')}`
  const index = await privateIndex(t, token, await tarGz([{ name: 'package/VERSION', content: `${version}\n` }]))
  const slipway = await startSlipway(t, { secretsKey: randomBytes(32).toString('base64'), builder: 'buildkit', webhookAllow: '127.0.0.1/32', concurrency: 1 })
  const receiver = await startReceiver(t)
  const repo = await createRepo(t, { Dockerfile: DOCKERFILE })
  const other = await createRepo(t, { Dockerfile: DOCKERFILE })

  const made = await slipway.app.inject({ method: 'POST', url: '/v1/secrets', payload: { id: 'npm', value: token, repos: [repo.url] } })
  t.equal(made.statusCode, 201, made.body)
  const hook = await slipway.app.inject({ method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url } })
  t.equal(hook.statusCode, 201, hook.body)

  const build = await slipway.build({ repo: repo.url, push: false, secrets: ['npm'], buildArgs: { INDEX: index.url } })

  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  t.same(build.request.secrets, ['npm'], 'the build names the secret by id')
  const log = await slipway.logs(build.id)
  t.match(log, version, 'the package came from the private index')
  t.match(log, 'the token is ***', 'a step that prints the token prints it masked')
  t.notMatch(log, token, 'the token is nowhere in the log')
  t.same(index.refused, [], 'the index was never asked without the token')

  const image = await savedImage(build.image!.id)
  t.ok(image.length > 100_000, 'the saved image holds its layers')
  t.ok(image.includes(Buffer.from(version)), 'the search would find bytes a layer holds: the package is there')
  t.notOk(image.includes(Buffer.from(token)), "the token is in no layer, nor the image's config or history")
  t.notOk(image.includes(Buffer.from(token).toString('base64')), 'nor as base64')

  const answers = [
    (await slipway.app.inject({ method: 'GET', url: `/v1/builds/${build.id}` })).body,
    (await slipway.app.inject({ method: 'GET', url: '/v1/builds' })).body,
    (await slipway.app.inject({ method: 'GET', url: '/v1/secrets' })).body,
    (await slipway.app.inject({ method: 'GET', url: '/v1/secrets/npm' })).body
  ]
  for (const answer of answers) t.notMatch(answer, token, 'no answer of the API holds it')
  await receiver.waitFor(1, (delivery) => delivery.body.includes(build.id) && delivery.body.includes('succeeded'))
  for (const delivery of receiver.received) t.notMatch(delivery.body, token, 'no webhook payload holds it')
  const dump = await redisDump(slipway.config)
  t.notMatch(dump, token, 'Redis holds it nowhere in clear text: records, logs, job data')

  await t.test("another repository's build may not use it, at submission and when a worker starts it", async (t) => {
    const refused = await slipway.app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: other.url, push: false, secrets: ['npm'], buildArgs: { INDEX: index.url } } })
    t.equal(refused.statusCode, 403, refused.body)
    t.equal(refused.json<{ code: string }>().code, 'SECRET_NOT_ALLOWED')

    // Allowed when it was queued, narrowed before a worker took it: the worker checks again. The
    // worker (one build at a time here) is busy with a slow build while the secret is narrowed.
    const slow = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN sleep 3\n' })
    const busy = await slipway.submit({ repo: slow.url, push: false, noCache: true })
    const queued = await slipway.submit({ repo: repo.url, push: false, secrets: ['npm'], buildArgs: { INDEX: index.url }, force: true })
    const narrowed = await slipway.app.inject({ method: 'PATCH', url: '/v1/secrets/npm', payload: { repos: [other.url] } })
    t.equal(narrowed.statusCode, 200, narrowed.body)
    t.equal((await slipway.wait(busy.id)).status, 'succeeded')
    const ended: Build = await slipway.wait(queued.id)
    t.equal(ended.status, 'failed')
    t.equal(ended.error?.code, 'SECRET_NOT_ALLOWED', ended.error?.message ?? '')
    t.match(ended.error?.message ?? '', /secret 'npm'/)
  })
})

t.test('a private git repository cloned over SSH with a deploy key Slipway holds: the build gets the code, nothing keeps the key', async (t) => {
  const keys = await tempFolder(t, {}, 'slipway-keys-')
  const deploy = await sshKeyPair(keys, 'deploy')
  const sshd = await startSshd(t, deploy.publicKey)
  const nonce = `clone-nonce-${randomBytes(12).toString('hex')}`
  const dependency = await sshd.bareRepo('private-lib', { 'NONCE.txt': `${nonce}\n` })
  const slipway = await startSlipway(t, { secretsKey: randomBytes(32).toString('base64'), builder: 'buildkit' })
  const repo = await createRepo(t, {
    Dockerfile: [
      'FROM slipway-test/git-ssh:bookworm',
      'ARG HOST',
      'ARG PORT',
      'RUN --mount=type=ssh GIT_SSH_COMMAND="ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -p $PORT" ' +
        `git clone "ssh://root@$HOST${dependency}" /src && cat /src/NONCE.txt`,
      ''
    ].join('\n')
  })
  const made = await slipway.app.inject({
    method: 'POST',
    url: '/v1/secrets',
    payload: { id: 'default', kind: 'ssh', value: deploy.privateKey.toString('base64'), encoding: 'base64', repos: [repo.url] }
  })
  t.equal(made.statusCode, 201, made.body)
  const buildArgs = { HOST: await bridgeAddress(), PORT: String(sshd.port) }

  const without = await slipway.build({ repo: repo.url, push: false, buildArgs })
  t.equal(without.status, 'failed', 'the control: without the key the clone is refused')
  t.match(await slipway.logs(without.id), /Permission denied \(publickey\)/)

  const build = await slipway.build({ repo: repo.url, push: false, ssh: ['default'], buildArgs, force: true })

  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  const log = await slipway.logs(build.id)
  t.match(log, nonce, 'the step cloned the private repository')
  const image = await savedImage(build.image!.id)
  t.ok(image.includes(Buffer.from(nonce)), 'the clone is in the image')
  const dump = await redisDump(slipway.config)
  const answer = (await slipway.app.inject({ method: 'GET', url: `/v1/builds/${build.id}` })).body
  const keyLines = deploy.privateKey.toString().split('\n').filter((line) => line && !line.startsWith('-----'))
  // The first line is the same in every unencrypted ed25519 key (and in ssh's own programs): the
  // rest are this key's own.
  for (const needle of [deploy.privateKey.toString(), ...keyLines.slice(1)]) {
    t.notOk(image.includes(Buffer.from(needle)), 'no part of the key is in the image')
    t.notMatch(log, needle, 'nor in the log')
    t.notMatch(answer, needle, 'nor in the answer')
    t.notMatch(dump, needle, 'nor in Redis')
  }
})

t.test('a build that names secrets but must use the classic builder fails before it builds, saying why', async (t) => {
  // SLIPWAY_BUILDER=auto on a named build network: only the classic builder can join it, and it cannot mount secrets.
  const network = await docker.createNetwork({ Name: `slipway-test-${randomBytes(4).toString('hex')}`, Driver: 'bridge' })
  t.teardown(() => network.remove().catch(() => undefined))
  const slipway = await startSlipway(t, { secretsKey: randomBytes(32).toString('base64'), builder: 'auto', buildNetwork: network.id })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=npm true\n' })
  const made = await slipway.app.inject({ method: 'POST', url: '/v1/secrets', payload: { id: 'npm', value: 'not-for-classic', repos: [repo.url] } })
  t.equal(made.statusCode, 201, made.body)

  const build = await slipway.build({ repo: repo.url, push: false, secrets: ['npm'] })

  t.equal(build.status, 'failed')
  t.equal(build.error?.code, 'SECRETS_NEED_BUILDKIT', build.error?.message ?? '')
  t.match(build.error?.message ?? '', /names npm.*classic builder/)
})
