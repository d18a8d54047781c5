import { execFile, spawn } from 'node:child_process'
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto'
import { once } from 'node:events'
import { Readable } from 'node:stream'
import { promisify } from 'node:util'
import type Docker from 'dockerode'
import ssh2 from 'ssh2'
import t from 'tap'
import type { ImageBuildInput } from '../../workers/phases/image-build.js'
import { buildDirect } from '../helpers/direct-build.js'
import { startDockerd, type TestDockerd } from '../helpers/dockerd.js'
import { filesHolding, imageFiles } from '../helpers/image-files.js'
import { tarGz } from '../helpers/tarball.js'

const exec = promisify(execFile)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Secret and SSH mounts served by the build's BuildKit session (workers/docker/session-secrets.ts,
// session-ssh.ts), against an engine of the test's own: what a RUN step may read, what it must
// not find, what never reaches the image, and that a canceled build leaves no session behind.

const build = (engine: TestDockerd, files: Record<string, string>, buildSecrets: ImageBuildInput['buildSecrets'], signal?: AbortSignal, onLog?: (text: string) => void) =>
  buildDirect(engine.docker, files, { ...(buildSecrets ? { buildSecrets } : {}), ...(signal ? { signal } : {}), ...(onLog ? { onLog } : {}) })

t.test('secret mounts', async (t) => {
  const engine = await startDockerd(t)
  const secret = Buffer.from(`npm-token-${randomBytes(12).toString('hex')}`)
  const digest = createHash('sha256').update(secret).digest('hex')

  await t.test('a step reads the secret, and its bytes are in no layer, config or history, nor in the log', async (t) => {
    const built = await build(engine, {
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=secret,id=npm sha256sum /run/secrets/npm > /npm.sha256',
        // An optional mount the session has no secret for is left out of the step, which goes on.
        'RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent',
        'RUN --mount=type=secret,id=npm,target=/root/.npmrc test -s /root/.npmrc'
      ].join('\n') + '\n'
    }, { secrets: { npm: secret }, ssh: {} })
    if (built.error) t.comment(built.log)
    t.error(built.error)
    const files = await imageFiles(engine.docker, built.imageId!)
    const layer = [...files].find(([name]) => name.endsWith(':npm.sha256'))
    t.equal(layer?.[1].toString().split(' ')[0], digest, 'the step read the secret: its digest is in the image')
    t.same(filesHolding(files, secret), [], `the secret's bytes are in none of the ${files.size} files of the image`)
    t.notOk([...files].some(([name]) => name.endsWith('.npmrc')), 'the secret mount left no file behind')
    t.notOk(built.log.includes(secret.toString()), 'nor in the log')
  })

  await t.test('a required secret the session lacks fails the build, naming the secret', async (t) => {
    const built = await build(engine, { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=pypi,required cat /run/secrets/pypi\n' }, { secrets: { npm: secret }, ssh: {} })
    t.match(built.error, { name: 'BuildFailure', message: /secret pypi not found/ }, String(built.error?.message))
  })

  await t.test('a build given no secrets has none', async (t) => {
    const built = await build(engine, { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=npm,required cat /run/secrets/npm\n' }, undefined)
    t.match(built.error, { message: /secret npm not found/ })
  })
})

// An SSH agent client for a RUN step of node:20-bookworm-slim (which has no ssh client): lists
// the agent's identities (request 11, answer 12), then asks it to sign argv[2] with the first one,
// once per flag in argv[3] (0, or RSA's 2 = rsa-sha2-256 and 4 = rsa-sha2-512), and prints it all.
const AGENT_PROBE = `
const net = require('net')
const [data, flagList] = process.argv.slice(2)
const socket = net.connect(process.env.SSH_AUTH_SOCK)
let buffered = Buffer.alloc(0)
const waiting = []
const deliver = () => {
  while (waiting.length && buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
    const length = buffered.readUInt32BE(0)
    waiting.shift()(buffered.subarray(4, 4 + length))
    buffered = buffered.subarray(4 + length)
  }
}
socket.on('data', (bytes) => { buffered = Buffer.concat([buffered, bytes]); deliver() })
const u32 = (n) => { const bytes = Buffer.alloc(4); bytes.writeUInt32BE(n); return bytes }
const string = (bytes) => Buffer.concat([u32(bytes.length), bytes])
const ask = (type, body) => new Promise((resolve) => {
  waiting.push(resolve)
  socket.write(string(Buffer.concat([Buffer.from([type]), body])))
})
;(async () => {
  const answer = await ask(11, Buffer.alloc(0))
  const blob = answer.subarray(9, 9 + answer.readUInt32BE(5))
  const signatures = []
  for (const flags of flagList.split(',').map(Number)) {
    const reply = await ask(13, Buffer.concat([string(blob), string(Buffer.from(data)), u32(flags)]))
    signatures.push({ flags, answer: reply[0], signature: reply.subarray(5).toString('base64') })
  }
  const foreign = await ask(13, Buffer.concat([string(Buffer.from('not a key')), string(Buffer.from(data)), u32(0)]))
  console.log('AGENT ' + JSON.stringify({ answer: answer[0], keys: answer.readUInt32BE(1), blob: blob.toString('base64'), signatures, foreign: foreign[0] }))
  socket.end()
})()
`

interface ProbeResult {
  answer: number
  keys: number
  blob: string
  signatures: { flags: number; answer: number; signature: string }[]
  foreign: number
}

function probeResults (log: string): ProbeResult[] {
  return [...log.matchAll(/AGENT (\{.*\})$/gm)].map((match) => JSON.parse(match[1]!) as ProbeResult)
}

/** An SSH signature blob (string format, string signature) checked with node's crypto against the host's public key. */
function verifies (signature: string, data: Buffer, publicKey: KeyObject): { format: string; valid: boolean } {
  const bytes = Buffer.from(signature, 'base64')
  const formatLength = bytes.readUInt32BE(0)
  const format = bytes.subarray(4, 4 + formatLength).toString()
  const raw = bytes.subarray(8 + formatLength, 8 + formatLength + bytes.readUInt32BE(4 + formatLength))
  const hash = { 'ssh-ed25519': null, 'ssh-rsa': 'sha1', 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512' }[format]
  return { format, valid: hash !== undefined && verify(hash, data, publicKey, raw) }
}

t.test('SSH agent forwarding', async (t) => {
  const engine = await startDockerd(t, { images: ['busybox:latest', 'node:20-bookworm-slim'] })
  // ed25519 in OpenSSH's format (as ssh-keygen writes it), RSA as PEM (PKCS#1).
  const ed25519 = ssh2.utils.generateKeyPairSync('ed25519')
  const ed25519Blob = Buffer.from(ed25519.public.split(' ')[1]!, 'base64')
  const ed25519Public = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: ed25519Blob.subarray(-32).toString('base64url') }, format: 'jwk' })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const rsaPem = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' })
  const nonce = randomBytes(16).toString('hex')

  await t.test('a RUN step lists the key through the agent and gets signatures the public key verifies', async (t) => {
    const built = await build(engine, {
      'probe.js': AGENT_PROBE,
      Dockerfile: [
        'FROM node:20-bookworm-slim',
        'COPY probe.js /probe.js',
        `RUN --mount=type=ssh node /probe.js ${nonce} 0`,
        `RUN --mount=type=ssh,id=deploy node /probe.js ${nonce} 0,2,4`
      ].join('\n') + '\n'
    }, { secrets: {}, ssh: { default: Buffer.from(ed25519.private), deploy: Buffer.from(rsaPem) } })
    if (built.error) t.comment(built.log)
    t.error(built.error)
    const [fromDefault, fromDeploy] = probeResults(built.log)
    t.match(fromDefault, { answer: 12, keys: 1, blob: ed25519Blob.toString('base64'), signatures: [{ flags: 0, answer: 14 }], foreign: 5 }, 'id default: one identity, the ed25519 key; a key it lacks is refused (5)')
    t.same(verifies(fromDefault!.signatures[0]!.signature, Buffer.from(nonce), ed25519Public), { format: 'ssh-ed25519', valid: true }, 'its signature verifies with the ed25519 public key')
    t.same(
      fromDeploy?.signatures.map((signed) => verifies(signed.signature, Buffer.from(nonce), rsa.publicKey)),
      [{ format: 'ssh-rsa', valid: true }, { format: 'rsa-sha2-256', valid: true }, { format: 'rsa-sha2-512', valid: true }],
      'id deploy: RSA signatures with the hash each flag asks for'
    )
    const files = await imageFiles(engine.docker, built.imageId!)
    t.same([...filesHolding(files, Buffer.from(ed25519.private)), ...filesHolding(files, Buffer.from(rsaPem))], [], 'no private key in the image')
    t.notOk(built.log.includes('PRIVATE KEY'), 'nor in the log')
  })

  await t.test('a required SSH id the build is not given fails it, naming the id', async (t) => {
    const built = await build(engine, { Dockerfile: 'FROM busybox\nRUN --mount=type=ssh,id=github,required true\n' }, { secrets: {}, ssh: { default: Buffer.from(ed25519.private) } })
    t.match(built.error, { name: 'BuildFailure', message: /no SSH key "github" is given to this build/ }, String(built.error?.message))
  })
})

/**
 * Connections from this process to the engine's socket (`ss -xp`: the engine's end of each has the
 * socket's path as its address, ours the peer inode), the session's among them while it is open.
 */
async function connectionsToEngine (socketPath: string): Promise<number> {
  const { stdout } = await exec('ss', ['-xpnH'])
  // Columns: netid state recv-q send-q local-address inode peer-address peer-inode process
  const rows = stdout.split('\n').map((line) => line.trim().split(/\s+/))
  const engineEnds = new Set(rows.filter((row) => row[4] === socketPath).map((row) => row[7]))
  return rows.filter((row) => engineEnds.has(row[5]) && row[8]?.includes(`pid=${process.pid},`)).length
}

/** The session ids this client opened: the header POST /session names them with. */
function recordSessions (docker: Docker): string[] {
  const ids: string[] = []
  const dial = docker.modem.dial.bind(docker.modem)
  docker.modem.dial = (options, callback) => {
    const id = (options as { headers?: Record<string, string> }).headers?.['X-Docker-Expose-Session-Uuid']
    if (id) ids.push(id)
    return dial(options, callback)
  }
  return ids
}

/**
 * The engine's own word on a session, from a build naming it whose step mounts a secret. A session
 * the engine no longer has is waited for (5 s, buildkit session/group.go) and the build fails with
 * "no active session". One whose connection closed stays listed until its next health check fails
 * (every second, session/grpc.go), and a build in that time fails at once on the dead connection: so
 * asked again until the answer is not that.
 */
async function engineAnswerFor (docker: Docker, id: string): Promise<string> {
  let answer = ''
  for (let tries = 0; tries < 10; tries++) {
    answer = await buildNamingSession(docker, id)
    if (!answer.includes('only one connection allowed')) return answer
    await sleep(300)
  }
  return answer
}

async function buildNamingSession (docker: Docker, id: string): Promise<string> {
  const context = await tarGz([{ name: 'Dockerfile', content: `FROM busybox\nRUN --mount=type=secret,id=npm,required echo ${randomBytes(8).toString('hex')}\n` }])
  const body = await new Promise<NodeJS.ReadableStream>((resolve, reject) => docker.modem.dial({
    path: '/build?',
    method: 'POST',
    file: Readable.from([context]),
    options: { version: '2', session: id, nocache: true },
    isStream: true,
    statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' }
  }, (error: Error | null, stream: unknown) => (error ? reject(error) : resolve(stream as NodeJS.ReadableStream))))
  let text = ''
  for await (const chunk of body) text += String(chunk)
  return text
}

t.test('a build stopped mid-step, canceled or timed out, ends its session on the engine', async (t) => {
  const engine = await startDockerd(t)
  const sessions = recordSessions(engine.docker)
  // The worker's cancel and its time limit both abort the build's one signal (workers/run-build.ts).
  const stops = {
    cancel: (stop: AbortController) => ({ signal: stop.signal, stepRuns: () => stop.abort() }),
    timeout: (stop: AbortController) => ({ signal: AbortSignal.any([stop.signal, AbortSignal.timeout(8000)]), stepRuns: () => undefined })
  }
  for (const [how, stopping] of Object.entries(stops)) {
    await t.test(how, async (t) => {
      const before = await connectionsToEngine(engine.socketPath)
      const { signal, stepRuns } = stopping(new AbortController())
      let during = -1
      const dockerfile = `FROM busybox\nRUN --mount=type=secret,id=npm sleep 120 # ${randomBytes(8).toString('hex')}\n`
      const { error } = await build(engine, { Dockerfile: dockerfile }, { secrets: { npm: Buffer.from('x') }, ssh: {} }, signal, (text) => {
        if (!/RUN --mount=type=secret,id=npm sleep 120/.test(text) || during !== -1) return
        // The step runs, its secret mounted from the session: count, then stop it.
        during = 0
        void connectionsToEngine(engine.socketPath).then((count) => {
          during = count
          stepRuns()
        })
      })
      t.ok(error, `the build was stopped: ${String(error?.message)}`)
      const session = sessions.at(-1)!
      // Before, at most an idle connection kept alive from an earlier request, which the build may reuse.
      t.ok(during >= 2, `while the step ran, this process had the build's and the session's connections to the engine (${before} before, ${during} during)`)
      let after = await connectionsToEngine(engine.socketPath)
      for (let tries = 0; tries < 50 && after > 0; tries++) {
        await sleep(100)
        after = await connectionsToEngine(engine.socketPath)
      }
      t.equal(after, 0, 'after it none of them is left')
      t.match(await engineAnswerFor(engine.docker, session), `no active session for ${session}`, 'and the engine has no such session any more')
    })
  }
})

t.test('a worker killed with its session open leaves no session on the engine', async (t) => {
  const engine = await startDockerd(t)
  // A process of its own opens a session serving a secret, says its id, and waits to be killed.
  const loader = process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'))
  const script = `
    const { default: Docker } = await import('dockerode')
    const { openBuildkitSession } = await import(${JSON.stringify(new URL('../../workers/docker/buildkit-session.ts', import.meta.url).href)})
    const { buildSecrets } = await import(${JSON.stringify(new URL('../../workers/docker/session-secrets.ts', import.meta.url).href)})
    const session = await openBuildkitSession(new Docker({ socketPath: ${JSON.stringify(engine.socketPath)} }), [buildSecrets({ npm: Buffer.from('x') })])
    console.log(session.id)
    setInterval(() => {}, 1000)
  `
  const child = spawn(process.execPath, [...loader, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => child.kill('SIGKILL'))
  const [line] = (await once(child.stdout, 'data')) as [Buffer]
  const id = line.toString().trim()
  const alive = await buildNamingSession(engine.docker, id)
  t.ok(alive.includes('moby.image.id') && !alive.includes('errorDetail'), 'while the worker lives, a build using its session gets the secret')

  child.kill('SIGKILL')
  await once(child, 'exit')
  t.match(await engineAnswerFor(engine.docker, id), `no active session for ${id}`, 'once it is killed, the engine has no such session')
})
