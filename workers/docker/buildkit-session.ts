import { randomUUID } from 'node:crypto'
import type { Duplex } from 'node:stream'
import * as grpc from '@grpc/grpc-js'
import type Docker from 'dockerode'
import protobuf from 'protobufjs'

// A BuildKit session is how the engine asks the client for what only the client has (registry
// credentials here; secrets and SSH keys are served the same way). The client opens it with
// POST /session, upgraded to HTTP/2 without TLS on the same connection; from then on the
// *engine* is the gRPC client and calls the services the client listed in the request's headers.
// A build names its session in its `session` query parameter; with `remote=client-session` it
// also reads its context through it (session-files.ts).
//
// The engine checks the session's health every second (buildkit session/grpc.go) and drops a
// session that does not answer, so grpc.health.v1.Health is always served.

/**
 * One gRPC method the session serves, decoded and encoded with protobufjs: a unary call answered
 * by `handle`, or a bidirectional stream (SSH agent forwarding) served by `serve`.
 */
export type SessionMethod<Request, Response> = UnaryMethod<Request, Response> | StreamMethod<Request, Response>

interface MethodTypes {
  path: string
  request: protobuf.Type
  response: protobuf.Type
}

export interface UnaryMethod<Request, Response> extends MethodTypes {
  handle: (request: Request) => Response | Promise<Response>
}

export interface StreamMethod<Request, Response> extends MethodTypes {
  /** Reads the call's requests and writes its responses; grpc-js ends the call when the session closes. */
  serve: (call: grpc.ServerDuplexStream<Request, Response>) => void
}

/**
 * A failed call's gRPC status (grpc-js reads `code` and `message`; a stream method emits it as the
 * call's 'error'): BuildKit reads NOT_FOUND as "the client has no such secret".
 */
export class SessionCallError extends Error {
  constructor (readonly code: grpc.status, message: string) {
    super(message)
  }
}

export interface BuildkitSession {
  /** The id to pass as the build's `session` parameter. */
  id: string
  /** Ends the session: the connection is closed and the engine forgets it. Safe to call twice. */
  close: () => void
}

const HEALTH = protobuf.parse(`
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse { int32 status = 1; }
`).root
const SERVING = 1

const healthCheck: UnaryMethod<unknown, { status: number }> = {
  path: '/grpc.health.v1.Health/Check',
  request: HEALTH.lookupType('grpc.health.v1.HealthCheckRequest'),
  response: HEALTH.lookupType('grpc.health.v1.HealthCheckResponse'),
  handle: () => ({ status: SERVING })
}

/**
 * Opens a session on the engine that serves `methods` until `close`. Methods not listed answer
 * UNIMPLEMENTED, which BuildKit reads as "this client has none" (anonymous pulls, no secrets).
 * `sharedKey` names the build context the session sends: BuildKit syncs a folder into what it
 * kept from the last session with the same key, so only what changed since then travels.
 */
export async function openBuildkitSession (docker: Docker, methods: SessionMethod<never, unknown>[], signal?: AbortSignal, sharedKey = ''): Promise<BuildkitSession> {
  const id = randomUUID()
  const served = [healthCheck, ...methods] as SessionMethod<unknown, unknown>[]
  const socket = await dialSession(docker, { id, sharedKey }, served.map((method) => method.path), signal)
  const server = new grpc.Server()
  server.addService(serviceDefinition(served), handlers(served))
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure())
  injector.injectConnection(socket)
  let closed = false
  return {
    id,
    close: () => {
      if (closed) return
      closed = true
      injector.destroy()
      server.forceShutdown()
      socket.destroy()
    }
  }
}

function dialSession (docker: Docker, { id, sharedKey }: { id: string; sharedKey: string }, methodPaths: string[], signal?: AbortSignal): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    docker.modem.dial({
      path: '/session',
      method: 'POST',
      hijack: true,
      headers: {
        Upgrade: 'h2c',
        'X-Docker-Expose-Session-Uuid': id,
        'X-Docker-Expose-Session-Name': 'slipway',
        'X-Docker-Expose-Session-Sharedkey': sharedKey,
        'X-Docker-Expose-Session-Grpc-Method': methodPaths
      },
      abortSignal: signal,
      statusCodes: { 101: true, 200: true, 400: 'bad parameter', 500: 'server error' }
    }, (error: Error | null, socket: unknown) => (error ? reject(error) : resolve(socket as Duplex)))
  })
}

// grpc-js routes by full path, so each method is a service of its own in one definition.
function serviceDefinition (methods: SessionMethod<unknown, unknown>[]): grpc.ServiceDefinition {
  return Object.fromEntries(methods.map((method) => [method.path, {
    path: method.path,
    requestStream: 'serve' in method,
    responseStream: 'serve' in method,
    requestSerialize: (value: object) => Buffer.from(method.request.encode(value).finish()),
    requestDeserialize: (bytes: Buffer) => method.request.toObject(method.request.decode(bytes), { longs: Number, defaults: true }),
    responseSerialize: (value: object) => Buffer.from(method.response.encode(method.response.fromObject(value)).finish()),
    responseDeserialize: (bytes: Buffer) => method.response.decode(bytes)
  }]))
}

function handlers (methods: SessionMethod<unknown, unknown>[]): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {}
  for (const method of methods) {
    implementation[method.path] = 'serve' in method ? method.serve : unary(method)
  }
  return implementation
}

function unary (method: UnaryMethod<unknown, unknown>): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => method.handle(call.request))
      .then(
        (response) => callback(null, response),
        (error: Error) => callback(error instanceof SessionCallError ? error : { code: grpc.status.INTERNAL, details: error.message })
      )
  }
}
