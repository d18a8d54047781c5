import * as grpc from '@grpc/grpc-js'
import protobuf from 'protobufjs'
import { SessionCallError, type SessionMethod } from './buildkit-session.js'

// `RUN --mount=type=secret,id=npm` makes BuildKit ask the session for the secret's bytes by id
// (buildkit session/secrets/secrets.proto) while that one step runs; the bytes are mounted as a
// file (/run/secrets/npm) and never become part of a layer or of the step's cache key.
const SECRETS = protobuf.parse(`
syntax = "proto3";
package moby.buildkit.secrets.v1;
message GetSecretRequest { string ID = 1; map<string, string> annotations = 2; }
message GetSecretResponse { bytes data = 1; }
`).root

/**
 * The session's Secrets service, serving `secrets` by id. An id it lacks answers NOT_FOUND, which
 * BuildKit (session/secrets/secrets.go) turns into "secret <id> not found": a step whose mount is
 * `required` fails with it, and an optional mount is left out of the step.
 */
export function buildSecrets (secrets: Record<string, Buffer>): SessionMethod<{ ID: string }, { data: Buffer }> {
  return {
    path: '/moby.buildkit.secrets.v1.Secrets/GetSecret',
    request: SECRETS.lookupType('moby.buildkit.secrets.v1.GetSecretRequest'),
    response: SECRETS.lookupType('moby.buildkit.secrets.v1.GetSecretResponse'),
    handle: ({ ID }) => {
      // Own keys only: an id such as `constructor` or `__proto__` is no secret.
      if (!Object.hasOwn(secrets, ID)) throw new SessionCallError(grpc.status.NOT_FOUND, `no secret "${ID}" is given to this build`)
      return { data: secrets[ID]! }
    }
  }
}
