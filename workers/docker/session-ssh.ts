import * as grpc from '@grpc/grpc-js'
import protobuf from 'protobufjs'
import ssh2, { type ParsedKey } from 'ssh2'
import { BuildFailure } from '../../src/domain/builds/build-failure.js'
import { SessionCallError, type SessionMethod, type StreamMethod } from './buildkit-session.js'

// `RUN --mount=type=ssh` puts an SSH agent socket in the step (SSH_AUTH_SOCK). BuildKit asks the
// session whether it has a key for the mount's id (CheckAgent), then forwards each connection to
// that socket as one ForwardAgent stream of raw agent-protocol bytes, naming the id in the call's
// metadata (buildkit session/sshforward/ssh.proto and ssh.go). The agent is served here, in the
// worker: the engine and the step see public keys and signatures, never a private key.
const SSH = protobuf.parse(`
syntax = "proto3";
package moby.sshforward.v1;
message BytesMessage { bytes data = 1; }
message CheckAgentRequest { string ID = 1; }
message CheckAgentResponse {}
`).root

/** The metadata key that names ForwardAgent's id. */
const SSH_ID_KEY = 'buildkit.ssh.id'
// A mount that names no id asks CheckAgent for "" and ForwardAgent for DefaultID (ssh.go): both are this.
const DEFAULT_ID = 'default'

// Ed25519 and RSA (ssh-rsa, rsa-sha2-256, rsa-sha2-512): their signatures ssh2 makes are already in
// the agent's wire format, where an ECDSA one would need re-encoding from DER.
const KEY_TYPES = new Set(['ssh-ed25519', 'ssh-rsa'])

type Message = { data: Buffer }

/**
 * The session's SSH service, an agent holding one private key per id (OpenSSH or PEM, without a
 * passphrase). A key that cannot be used throws here, before the build starts, naming only its id.
 */
export function sshAgents (privateKeys: Record<string, Buffer>): SessionMethod<never, unknown>[] {
  const keys = new Map(Object.entries(privateKeys).map(([id, key]) => [id, parsePrivateKey(id, key)]))
  return [checkAgent(keys), forwardAgent(keys)]
}

function parsePrivateKey (id: string, bytes: Buffer): ParsedKey {
  const key = ssh2.utils.parseKey(bytes)
  if (key instanceof Error || !key.isPrivateKey()) {
    throw new BuildFailure('BUILD_FAILED', `The SSH key "${id}" is no private key without a passphrase in OpenSSH or PEM format.`)
  }
  if (!KEY_TYPES.has(key.type)) throw new BuildFailure('BUILD_FAILED', `The SSH key "${id}" is of type ${key.type}; Slipway's agent serves ed25519 and RSA keys.`)
  return key
}

function checkAgent (keys: Map<string, ParsedKey>): SessionMethod<{ ID: string }, object> {
  return {
    path: '/moby.sshforward.v1.SSH/CheckAgent',
    request: SSH.lookupType('moby.sshforward.v1.CheckAgentRequest'),
    response: SSH.lookupType('moby.sshforward.v1.CheckAgentResponse'),
    handle: ({ ID }) => {
      if (!keyFor(keys, ID)) throw noKey(ID)
      return {}
    }
  }
}

function forwardAgent (keys: Map<string, ParsedKey>): StreamMethod<Message, Message> {
  return {
    path: '/moby.sshforward.v1.SSH/ForwardAgent',
    request: SSH.lookupType('moby.sshforward.v1.BytesMessage'),
    response: SSH.lookupType('moby.sshforward.v1.BytesMessage'),
    serve: (call) => {
      const id = String(call.metadata.get(SSH_ID_KEY)[0] ?? '')
      const key = keyFor(keys, id)
      if (key) pipeAgent(call, agentFor(key))
      else call.emit('error', noKey(id))
    }
  }
}

function keyFor (keys: Map<string, ParsedKey>, id: string): ParsedKey | undefined {
  return keys.get(id || DEFAULT_ID)
}

/** BuildKit fails a required mount with this, and leaves an optional one out (solver/llbsolver/mounts). */
function noKey (id: string): SessionCallError {
  return new SessionCallError(grpc.status.NOT_FOUND, `no SSH key "${id || DEFAULT_ID}" is given to this build`)
}

/** An agent that lists `key` and signs with it; any other request is answered SSH_AGENT_FAILURE. */
function agentFor (key: ParsedKey): ssh2.AgentProtocol {
  const agent = new ssh2.AgentProtocol(false)
  agent.on('identities', (request) => agent.getIdentitiesReply(request, [key]))
  agent.on('sign', (request, publicKey, data, flags) => {
    // RSA: the hash the client asked for with its rsa-sha2-256/512 flag (none: SHA-1, ssh-rsa).
    // ParsedKey.equals compares private parts too, so the public blobs are compared.
    const ours = key.getPublicSSH().equals(publicKey.getPublicSSH())
    const signature: Buffer | Error = ours ? key.sign(data, flags.hash) : new Error('not this agent\'s key')
    if (signature instanceof Error) agent.failureReply(request)
    else agent.signReply(request, signature)
  })
  return agent
}

/** The largest request the agent reads, as OpenSSH's ssh-agent (AGENT_MAX_LEN, 256 KiB). */
const MAX_REQUEST_BYTES = 256 * 1024
const SSH_AGENTC_REQUEST_IDENTITIES = 11
const SSH_AGENTC_SIGN_REQUEST = 13

/**
 * Cuts the agent-protocol bytes of a connection into whole requests (uint32 length, then type and
 * body), for ssh2's AgentProtocol: of a request type it does not serve, that parser skips only the
 * type byte and reads the rest of the body as the next request. OpenSSH's ssh (8.9 and later)
 * opens every agent connection with such a request, session-bind@openssh.com (SSH_AGENTC_EXTENSION,
 * 27, with a body of some hundred bytes), so the identities request after it was read from the
 * middle of that body and answered with a failure: ssh said "agent refused operation" and offered
 * no key, and no `git clone` over SSH could work (`ssh-add -l` sends no extension: it did). So any
 * request but the two served here is handed on as its type alone, which AgentProtocol answers
 * SSH_AGENT_FAILURE, in order: what OpenSSH's own agent answers an extension it lacks, and what
 * ssh goes on after. A request longer than MAX_REQUEST_BYTES throws (the connection is ended).
 */
export function agentRequests (): (bytes: Buffer) => Buffer[] {
  let buffered: Buffer = Buffer.alloc(0)
  return (bytes) => {
    buffered = buffered.length ? Buffer.concat([buffered, bytes]) : bytes
    const requests: Buffer[] = []
    while (buffered.length >= 4) {
      const length = buffered.readUInt32BE(0)
      if (length > MAX_REQUEST_BYTES) throw new Error(`an SSH agent request of ${length} bytes (at most ${MAX_REQUEST_BYTES})`)
      if (buffered.length < 4 + length) break
      const request = buffered.subarray(0, 4 + length)
      buffered = buffered.subarray(4 + length)
      if (length === 0) continue
      const type = request[4]!
      const served = type === SSH_AGENTC_REQUEST_IDENTITIES || type === SSH_AGENTC_SIGN_REQUEST
      requests.push(served ? request : Buffer.from([0, 0, 0, 1, type]))
    }
    return requests
  }
}

/** The stream's bytes through the agent and back; either side ending or failing ends both. */
function pipeAgent (call: grpc.ServerDuplexStream<Message, Message>, agent: ssh2.AgentProtocol): void {
  const requests = agentRequests()
  call.on('data', (message: Message) => {
    let whole: Buffer[]
    try {
      whole = requests(message.data)
    } catch (error) {
      agent.destroy()
      call.emit('error', error)
      return
    }
    for (const request of whole) agent.write(request)
  })
  agent.on('data', (bytes: Buffer) => call.write({ data: bytes }))
  // The step closed its agent connection (BuildKit's CloseSend): the answers are all written.
  call.on('end', () => call.end())
  call.on('cancelled', () => agent.destroy())
  call.on('close', () => agent.destroy())
  agent.on('error', (error: Error) => call.emit('error', error))
}
