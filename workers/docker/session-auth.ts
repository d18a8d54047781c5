import protobuf from 'protobufjs'
import type { SessionMethod } from './buildkit-session.js'
import { authForHost, type RegistryAuthMap } from './registry-auth.js'

// BuildKit asks the session for a registry's credentials by host (buildkit session/auth/auth.proto)
// whenever it pulls a base image or reads cache from a registry. Only Credentials is served: the
// other Auth methods answer UNIMPLEMENTED, and BuildKit then does the token exchange itself.
const AUTH = protobuf.parse(`
syntax = "proto3";
package moby.filesync.v1;
message CredentialsRequest { string Host = 1; }
message CredentialsResponse { string Username = 1; string Secret = 2; }
`).root

/**
 * The session's Auth service. It answers only for the registries the credentials name: a
 * Dockerfile that pulls from any other host (`FROM attacker.example/x`) is answered with no
 * credentials, so the engine never sends them there.
 */
export function registryCredentials (credentials: RegistryAuthMap): SessionMethod<{ Host: string }, { Username?: string; Secret?: string }> {
  return {
    path: '/moby.filesync.v1.Auth/Credentials',
    request: AUTH.lookupType('moby.filesync.v1.CredentialsRequest'),
    response: AUTH.lookupType('moby.filesync.v1.CredentialsResponse'),
    handle: ({ Host }) => {
      const auth = authForHost(credentials, Host)
      return auth ? { Username: auth.username, Secret: auth.password } : {}
    }
  }
}
