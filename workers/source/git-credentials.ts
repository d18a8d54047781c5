import { readFile } from 'node:fs/promises'
import { BuildFailure } from '../../src/domain/builds/build-failure.js'

/** Credentials for one git host, from SLIPWAY_GIT_CREDENTIALS_FILE. */
export type GitCredential = { username?: string; token: string } | { sshKeyFile: string }

/**
 * What git needs to reach a host with its credentials: environment variables only, so nothing
 * shows in the process list or the repository's config, plus the secrets the log must mask.
 */
export interface GitAuth {
  env: Record<string, string>
  secrets: { username?: string; password: string }[]
  /** For the build's log: why a credential the worker holds is not offered. */
  note?: string
}

export const NO_GIT_AUTH: GitAuth = { env: {}, secrets: [] }

/**
 * The credentials file: { "github.com": { "username": "x-access-token", "token": "…" },
 * "git.corp:8443": { "token": "…" }, "gitlab.corp": { "sshKeyFile": "/etc/slipway/deploy_key" } }.
 */
export async function loadGitCredentials (file: string): Promise<Map<string, GitCredential>> {
  if (!file) return new Map()
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw new BuildFailure('WORKER_CONFIG_INVALID', `The git credentials file ${file} cannot be read as JSON (${(error as Error).message.split('\n')[0]}).`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BuildFailure('WORKER_CONFIG_INVALID', `The git credentials file ${file} is not a JSON object of host → credentials.`)
  }
  return new Map(Object.entries(parsed as Record<string, GitCredential>).map(([host, credential]) => [host.toLowerCase(), credential]))
}

/** The environment that lets git authenticate to the repository's host, if there are credentials for it. */
export function gitAuthFor (repoUrl: string, credentials: Map<string, GitCredential>): GitAuth {
  const { scheme, host } = endpointOf(repoUrl)
  // Keyed by host, or by host:port where one server has several.
  const credential = host ? (credentials.get(host) ?? credentials.get(host.replace(/:\d+$/, ''))) : undefined
  if (!credential) return NO_GIT_AUTH
  if ('sshKeyFile' in credential) {
    return { env: { GIT_SSH_COMMAND: sshCommand(credential.sshKeyFile) }, secrets: [] }
  }
  const username = credential.username ?? 'x-access-token'
  return {
    env: tokenHelperEnv(`https://${host}`, username, credential.token),
    secrets: [{ username, password: credential.token }],
    ...(scheme === 'http' ? { note: `The worker's token for ${host} is sent over https only: the repository is plain http, so it is fetched without it.` } : {})
  }
}

/**
 * A token as git's credential helper for `origin` (https://host[:port]) alone, given only when the
 * server asks. git matches a helper to the URL it is about to send to, after any redirect, so the
 * token never goes over plain http, nor to another host; a fixed Authorization header
 * (http.extraHeader) would follow a redirect to http. No other helper is asked, or told to store it.
 */
function tokenHelperEnv (origin: string, username: string, token: string): Record<string, string> {
  return {
    // git reads config from GIT_CONFIG_KEY_n/VALUE_n (git 2.31+); the token stays out of argv.
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'credential.helper',
    GIT_CONFIG_VALUE_0: '',
    GIT_CONFIG_KEY_1: `credential.${origin}.helper`,
    GIT_CONFIG_VALUE_1: '!f() { test "$1" = get || return 0; printf \'username=%s\npassword=%s\n\' "$SLIPWAY_GIT_USERNAME" "$SLIPWAY_GIT_TOKEN"; }; f',
    SLIPWAY_GIT_USERNAME: username,
    SLIPWAY_GIT_TOKEN: token
  }
}

export function sshCommand (keyFile?: string): string {
  const identity = keyFile ? ` -i '${keyFile.replace(/'/g, '\'\\\'\'')}' -o IdentitiesOnly=yes` : ''
  return `ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new${identity}`
}

/** The scheme and host (with its port, as git's http.<url> config matches it) of a repository URL. */
function endpointOf (repoUrl: string): { scheme: string; host: string | undefined } {
  // scp-like, with or without a user: git@github.com:org/app.git, github.com:org/app.git.
  const scp = /^(?:[^/@:]+@)?([^:/]+):(?!\/\/)/.exec(repoUrl)
  if (scp) return { scheme: 'ssh', host: scp[1]!.toLowerCase() }
  try {
    const url = new URL(repoUrl)
    return { scheme: url.protocol.slice(0, -1), host: url.host.toLowerCase() || undefined }
  } catch {
    return { scheme: '', host: undefined }
  }
}
