import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import type { ImageBuildInput } from '../../workers/phases/image-build.js'
import { buildDirect } from '../helpers/direct-build.js'
import { startDockerd, type TestDockerd } from '../helpers/dockerd.js'
import { tempFolder } from '../helpers/files.js'
import { filesHolding, imageFiles } from '../helpers/image-files.js'
import { sshKeyPair, startSshd } from '../helpers/sshd.js'

const exec = promisify(execFile)

// Issue 19, point 5: a Dockerfile clones a private git repository over SSH with a deploy key
// Slipway holds, forwarded to the RUN step by the build's BuildKit session (session-ssh.ts).
// The server is a real sshd (Debian's openssh-server) on this host; the client is git and ssh in
// slipway-test/git-ssh:bookworm (scripts/setup.sh), built by an engine of the test's own whose
// RUN steps reach the host at its bridge's address. The same build without the key is the
// control: it must fail, so the clone cannot succeed by any way but the forwarded agent.

const GIT_SSH_IMAGE = 'slipway-test/git-ssh:bookworm'

// Every build really runs its step (a cached clone would prove nothing), on the engine's bridge:
// the step must reach the host's sshd.
const build = (engine: TestDockerd, dockerfile: string, buildSecrets: ImageBuildInput['buildSecrets']) =>
  buildDirect(engine.docker, { Dockerfile: dockerfile }, { ...(buildSecrets ? { buildSecrets } : {}), network: 'default' })

/** The host's address on the engine's own bridge: where its containers reach this host. */
async function hostAddressOn (bridge: string): Promise<string> {
  const { stdout } = await exec('ip', ['-4', '-o', 'addr', 'show', 'dev', bridge])
  return /inet ([\d.]+)\//.exec(stdout)![1]!
}

/** The base64 lines between the BEGIN and END lines of an OpenSSH private key. */
function bodyLines (privateKey: Buffer): string[] {
  return privateKey.toString().split('\n').filter((line) => line && !line.startsWith('-----'))
}

t.test('a RUN step clones a private repository over SSH with the forwarded deploy key', async (t) => {
  const keys = await tempFolder(t, {}, 'slipway-keys-')
  const deploy = await sshKeyPair(keys, 'deploy')
  const stranger = await sshKeyPair(keys, 'stranger')
  const sshd = await startSshd(t, deploy.publicKey)
  const nonce = `clone-nonce-${randomBytes(12).toString('hex')}`
  const repo = await sshd.bareRepo('private', { 'NONCE.txt': `${nonce}\n`, 'README.md': 'a private dependency\n' })

  await t.test('the deploy key opens the repository to this host\'s own git, and nothing else does', async (t) => {
    const keyFile = path.join(keys, 'deploy')
    const lsRemote = (identity: string) => exec('git', ['ls-remote', `ssh://root@127.0.0.1:${sshd.port}${repo}`], {
      env: { ...process.env, SSH_AUTH_SOCK: '', GIT_SSH_COMMAND: `ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i ${identity}` }
    })
    t.match((await lsRemote(keyFile)).stdout, /refs\/heads\/main/)
    const refused = await lsRemote(path.join(keys, 'stranger')).then(() => '', (error: Error & { stderr?: string }) => error.stderr ?? error.message)
    t.match(refused, /Permission denied \(publickey\)/, 'another key is refused')
  })

  const engine = await startDockerd(t, { images: [GIT_SSH_IMAGE] })
  const host = await hostAddressOn(engine.bridge)
  const dockerfile = [
    `FROM ${GIT_SSH_IMAGE}`,
    `RUN --mount=type=ssh GIT_SSH_COMMAND="ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -p ${sshd.port}" ` +
      `git clone ssh://root@${host}${repo} /src && cat /src/NONCE.txt`,
    ''
  ].join('\n')

  await t.test('with the key: the clone happens, and the key is in no layer, config or history, nor in the log', async (t) => {
    const accepted = sshd.log().split('Accepted publickey').length
    const built = await build(engine, dockerfile, { secrets: {}, ssh: { default: deploy.privateKey } })
    if (built.error) t.comment(`${built.log}\n--- sshd ---\n${sshd.log()}`)
    t.error(built.error, 'the build succeeds')
    t.match(built.log, new RegExp(`^(.*\\s)?${nonce}$`, 'm'), 'the step printed the file it cloned: the nonce')
    t.equal(sshd.log().split('Accepted publickey').length, accepted + 1, 'sshd let the build in once, with the deploy key')
    t.match(sshd.log(), /Accepted publickey for root from [\d.]+ port \d+ ssh2: ED25519 SHA256:/)

    const files = await imageFiles(engine.docker, built.imageId!)
    const cloned = [...files].find(([name]) => name.endsWith(':src/NONCE.txt'))
    t.equal(cloned?.[1].toString().trim(), nonce, 'the clone is in the image')
    const lines = bodyLines(deploy.privateKey)
    // The first line of every unencrypted ed25519 key is the same (format name, cipher "none",
    // one key, its type): not secret. Each line this key does not share with another is.
    const constant = new Set(bodyLines(stranger.privateKey))
    const secretLines = lines.filter((line) => !constant.has(line))
    t.ok(secretLines.length >= 3, `${secretLines.length} of the key's ${lines.length} lines are its own`)
    const needles: [string, Buffer][] = [
      ['the private key file', deploy.privateKey],
      ['its decoded body', Buffer.from(lines.join(''), 'base64')],
      ...secretLines.map((line, i): [string, Buffer] => [`line ${i + 1}`, Buffer.from(line)])
    ]
    for (const [what, needle] of needles) {
      t.same(filesHolding(files, needle), [], `${what}: in none of the image's ${files.size} files`)
      t.notOk(built.log.includes(needle.toString('latin1')), `${what}: not in the log`)
    }
    t.notOk(built.log.includes('PRIVATE KEY'), 'no key header in the log')
  })

  const controls: [string, ImageBuildInput['buildSecrets']][] = [
    ['no build secrets at all (no session agent)', undefined],
    ['a session with no SSH key', { secrets: {}, ssh: {} }],
    ['a key the server does not know', { secrets: {}, ssh: { default: stranger.privateKey } }]
  ]
  for (const [without, buildSecrets] of controls) {
    await t.test(`control, ${without}: the same build fails, denied by sshd`, async (t) => {
      const built = await build(engine, dockerfile, buildSecrets)
      t.match(built.error, { name: 'BuildFailure' }, String(built.error?.message))
      t.match(built.log, /Permission denied \(publickey\)/, 'ssh was refused')
      t.notOk(built.log.includes(nonce), 'no nonce: nothing was cloned')
    })
  }
})
