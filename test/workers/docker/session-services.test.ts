import { EventEmitter } from 'node:events'
import * as grpc from '@grpc/grpc-js'
import ssh2 from 'ssh2'
import t from 'tap'
import { SessionCallError, type StreamMethod, type UnaryMethod } from '../../../workers/docker/buildkit-session.js'
import { buildSecrets } from '../../../workers/docker/session-secrets.js'
import { agentRequests, sshAgents } from '../../../workers/docker/session-ssh.js'

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

/** An agent-protocol message: uint32 length, type, body. */
function agentMessage (type: number, ...fields: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from([type]), ...fields])
  const length = Buffer.alloc(4)
  length.writeUInt32BE(body.length)
  return Buffer.concat([length, body])
}

/** An SSH string: uint32 length, bytes. */
function sshString (bytes: Buffer | string): Buffer {
  const data = Buffer.from(bytes)
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  return Buffer.concat([length, data])
}

// What OpenSSH's ssh (8.9 and later) sends first on every agent connection: an extension request
// (27) session-bind@openssh.com, with the host key, session id, signature and a forwarding flag.
const SESSION_BIND = agentMessage(27, sshString('session-bind@openssh.com'), sshString(Buffer.alloc(51, 1)), sshString(Buffer.alloc(32, 2)), sshString(Buffer.alloc(83, 3)), Buffer.from([0]))

t.test('the SSH agent answers an extension request it lacks with a failure, then serves what follows (as ssh asks)', async (t) => {
  const key = ssh2.utils.generateKeyPairSync('ed25519')
  const [, forward] = sshAgents({ default: Buffer.from(key.private) }) as [unknown, StreamMethod<{ data: Buffer }, { data: Buffer }>]
  // A ForwardAgent call as grpc-js gives it: metadata, a stream of messages in, write/end out.
  const answers: Buffer[] = []
  const call = Object.assign(new EventEmitter(), {
    metadata: new grpc.Metadata(),
    write: (message: { data: Buffer }) => answers.push(message.data),
    end: () => undefined
  })
  forward.serve(call as unknown as grpc.ServerDuplexStream<{ data: Buffer }, { data: Buffer }>)
  const blob = Buffer.from(key.public.split(' ')[1]!, 'base64')
  const stream = Buffer.concat([SESSION_BIND, agentMessage(11), agentMessage(13, sshString(blob), sshString('data'), Buffer.alloc(4))])
  // In pieces that split the messages anywhere, as a connection may.
  for (let at = 0; at < stream.length; at += 7) call.emit('data', { data: stream.subarray(at, at + 7) })
  await new Promise((resolve) => setImmediate(resolve))
  const replies = Buffer.concat(answers)
  const types: number[] = []
  for (let at = 0; at < replies.length; at += 4 + replies.readUInt32BE(at)) types.push(replies[at + 4]!)
  t.same(types, [5, 12, 14], 'SSH_AGENT_FAILURE to the extension, then the identities answer and the signature')
})

t.test('agentRequests cuts whole requests, passes on others as their type alone, and refuses one too long', async (t) => {
  const next = agentRequests()
  const identities = agentMessage(11)
  t.same(next(Buffer.concat([SESSION_BIND, identities]).subarray(0, 10)), [], 'no whole request yet')
  t.same(next(Buffer.concat([SESSION_BIND, identities]).subarray(10)), [Buffer.from([0, 0, 0, 1, 27]), identities])
  const tooLong = Buffer.alloc(5)
  tooLong.writeUInt32BE(256 * 1024 + 1)
  t.throws(() => agentRequests()(tooLong), /an SSH agent request of 262145 bytes/)
})
