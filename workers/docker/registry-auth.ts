import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { DOCKER_HUB } from '../../src/domain/builds/image-ref.js'

/** Credentials in the shape the Engine API takes them (X-Registry-Auth / X-Registry-Config). */
export interface RegistryAuth {
  username: string
  password: string
  serveraddress: string
}
export type RegistryAuthMap = Record<string, RegistryAuth>

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>
  credsStore?: string
  credHelpers?: Record<string, string>
}

// Docker Hub's credentials are filed under its legacy index URL.
const HUB_SERVER = 'https://index.docker.io/v1/'
const runHelper = promisify(execFile)

/**
 * Credentials for one registry host from a Docker config.json (as `docker login` writes it):
 * `auths` entries, then a credential helper (`credHelpers`, `credsStore`). Undefined means anonymous.
 */
export async function authForRegistry (configFile: string, registry: string): Promise<RegistryAuth | undefined> {
  const config = await readDockerConfig(configFile)
  const fromAuths = credentialsByHost(config).get(registry)
  if (fromAuths) return fromAuths
  const helper = config.credHelpers?.[registry] ?? config.credsStore
  return helper ? fromHelper(helper, serverAddress(registry)) : undefined
}

/** Every `auths` entry, for pulling private base images during a build. */
export async function authsForBuild (configFile: string): Promise<RegistryAuthMap> {
  const map: RegistryAuthMap = {}
  for (const auth of credentialsByHost(await readDockerConfig(configFile)).values()) map[auth.serveraddress] = auth
  return map
}

/** The credentials in `map` for one registry host, however either is spelled; undefined when it holds none. */
export function authForHost (map: RegistryAuthMap, host: string): RegistryAuth | undefined {
  const wanted = registryHost(host)
  return Object.values(map).find((auth) => registryHost(auth.serveraddress) === wanted)
}

/**
 * `auths` by bare host. Docker files one host under several spellings ("localhost:5000",
 * "http://localhost:5000/"); the first spelling that holds credentials wins, for pushes and
 * builds alike.
 */
function credentialsByHost (config: DockerConfigFile): Map<string, RegistryAuth> {
  const byHost = new Map<string, RegistryAuth>()
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    const host = registryHost(key)
    const auth = byHost.has(host) ? undefined : decodeEntry(entry, serverAddress(host))
    if (auth) byHost.set(host, auth)
  }
  return byHost
}

function serverAddress (host: string): string {
  return host === DOCKER_HUB ? HUB_SERVER : host
}

async function readDockerConfig (file: string): Promise<DockerConfigFile> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '{}'
    throw error
  })
  let config: unknown
  try {
    config = JSON.parse(text)
  } catch {
    config = undefined
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new Error(`The Docker config ${file} is not a JSON object; fix it or point SLIPWAY_DOCKER_CONFIG elsewhere.`)
  }
  return config
}

/** "https://index.docker.io/v1/", "docker.io", "http://localhost:5000/" → the bare host Docker compares. */
function registryHost (key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '')
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host
}

function decodeEntry (entry: NonNullable<DockerConfigFile['auths']>[string] | null, serveraddress: string): RegistryAuth | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined
  if (entry.identitytoken) return { username: '<token>', password: entry.identitytoken, serveraddress }
  if (entry.username && entry.password) return { username: entry.username, password: entry.password, serveraddress }
  if (!entry.auth) return undefined
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon > 0 ? { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress } : undefined
}

async function fromHelper (helper: string, serveraddress: string): Promise<RegistryAuth | undefined> {
  if (!/^[A-Za-z0-9_.-]+$/.test(helper)) return undefined
  const child = runHelper(`docker-credential-${helper}`, ['get'], { timeout: 10_000 })
  child.child.stdin?.end(serveraddress)
  const { stdout } = await child.catch(() => ({ stdout: '' }))
  let answer: { Username?: string; Secret?: string } = {}
  try {
    answer = JSON.parse(stdout) as typeof answer
  } catch {
    // A helper that has nothing for this registry prints an error text: anonymous, then.
  }
  return answer.Username && answer.Secret ? { username: answer.Username, password: answer.Secret, serveraddress } : undefined
}
