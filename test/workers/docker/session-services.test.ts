import * as grpc from '@grpc/grpc-js'
import ssh2 from 'ssh2'
import t from 'tap'
import { SessionCallError, type UnaryMethod } from '../../../workers/docker/buildkit-session.js'
import { buildSecrets } from '../../../workers/docker/session-secrets.js'
import { sshAgents } from '../../../workers/docker/session-ssh.js'

// What the session's Secrets and SSH services answer without an engine; builds through a real one
// are in test/integration/build-secrets.test.ts.

t.test('Secrets answers the bytes of an id it was given and NOT_FOUND for any other, prototype names too', async (t) => {
  const { handle } = buildSecrets({ npm: Buffer.from('token') }) as UnaryMethod<{ ID: string }, { data: Buffer }>
  t.same(await handle({ ID: 'npm' }), { data: Buffer.from('token') })
  for (const ID of ['pypi', 'constructor', '__proto__', 'toString']) {
    t.throws(() => handle({ ID }), new SessionCallError(grpc.status.NOT_FOUND, `no secret "${ID}" is given to this build`), ID)
  }
})

t.test('an SSH key the agent cannot serve fails the build before it starts, naming only its id', async (t) => {
  const ecdsa = ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 })
  const locked = ssh2.utils.generateKeyPairSync('ed25519', { passphrase: 'secret', cipher: 'aes256-ctr', rounds: 16 })
  const cases: [string, string, RegExp][] = [
    ['garbage', 'not a key at all', /"garbage" is no private key/],
    ['public', ecdsa.public, /"public" is no private key/],
    ['locked', locked.private, /"locked" is no private key without a passphrase/],
    ['ecdsa', ecdsa.private, /"ecdsa" is of type ecdsa-sha2-nistp256; Slipway's agent serves ed25519 and RSA keys/]
  ]
  for (const [id, key, message] of cases) {
    t.throws(() => sshAgents({ [id]: Buffer.from(key) }), { name: 'BuildFailure', code: 'BUILD_FAILED', message }, id)
  }
  const ed25519 = ssh2.utils.generateKeyPairSync('ed25519')
  t.equal(sshAgents({ default: Buffer.from(ed25519.private) }).length, 2, 'an ed25519 key in OpenSSH format is served (CheckAgent, ForwardAgent)')
})
