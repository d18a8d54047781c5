import type { Redis } from 'ioredis'
import type { AuditLog } from './audit-log.js'
import type { RedisKeys } from './keys.js'
import { withCommands } from './redis-commands.js'
import { decodeHash, encodeHash } from './redis-hash.js'
import type { TriggerStore } from './trigger-store.js'
import { SecretExists, SecretNotAllowed, SecretRepoPatternInvalid, SecretValueInvalid } from '../domain/errors.js'
import { printable } from '../domain/builds/repo-url.js'
import type { Actor } from '../domain/schemas/audit.js'
import type { BuildRecord } from '../domain/schemas/build.js'
import { SECRET_MAX_BYTES, type Secret, type SecretReencryptResult } from '../domain/schemas/secret.js'
import { looksLikeSshPrivateKey, mayUse, repoPatternProblem, requestedSecrets, type SecretScope, type SecretUser } from '../domain/secrets/secret-access.js'
import type { SecretKind } from '../domain/secrets/secret-ids.js'
import { keyFingerprint, open, seal, sealingKey, type Keyring, type Sealed } from '../domain/secrets/secret-key.js'

/** A secret as stored: the resource, and its value sealed (secret-key.ts). */
interface StoredSecret extends Secret {
  sealed: Sealed
}

const toResource = ({ sealed: _sealed, ...secret }: StoredSecret): Secret => secret
const scopeOf = ({ id, kind, repos, tokens }: StoredSecret): SecretScope => ({ id, kind, repos, tokens })

/** The value's checks: its size, and for ssh that it is a private key. Never echoes the value. */
function checkValue (kind: SecretKind, value: Buffer): Buffer {
  if (value.length === 0) throw new SecretValueInvalid('The value is empty; give the bytes the builds are to read.')
  if (value.length > SECRET_MAX_BYTES) throw new SecretValueInvalid(`The value is ${value.length} bytes; a secret holds at most ${SECRET_MAX_BYTES}.`)
  if (kind === 'ssh' && !looksLikeSshPrivateKey(value)) {
    throw new SecretValueInvalid(
      'An ssh secret holds a private key, in PEM or OpenSSH form ("-----BEGIN OPENSSH PRIVATE KEY-----" …), without a passphrase; this value is not one (it is not shown). ' +
        'Give the private key file, e.g. one made with `ssh-keygen -t ed25519 -N "" -f deploy_key`, not its .pub.'
    )
  }
  return value
}

function checkRepos (repos: string[]): string[] {
  for (const pattern of repos) {
    const problem = repoPatternProblem(pattern)
    if (problem) throw new SecretRepoPatternInvalid(printable(pattern), problem)
  }
  return repos
}

const describeScope = (secret: Pick<Secret, 'kind' | 'repos' | 'tokens'>) =>
  `${secret.kind} for ${secret.repos.join(', ') || 'no repository'}, ${secret.tokens.length === 0 ? 'any token' : `tokens ${secret.tokens.join(', ')}`}`

/**
 * Secrets Slipway holds for builds, one Redis hash each, their values sealed with the keyring's
 * current key (AES-256-GCM, bound to id and kind) and never written in clear, nor into the audit
 * trail, nor into any answer. Made only when SLIPWAY_SECRETS_KEY is set.
 */
export function createSecretStore (connection: Redis, keys: RedisKeys, keyring: Keyring, audit: AuditLog) {
  const redis = withCommands(connection)

  async function stored (id: string): Promise<StoredSecret | null> {
    return decodeHash<StoredSecret>(await redis.hgetall(keys.secret(id)))
  }

  async function storedMany (ids: string[]): Promise<StoredSecret[]> {
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.hgetall(keys.secret(id))
    const hashes = (await pipeline.exec()) ?? []
    return hashes.flatMap(([error, hash]) => (error ? [] : (decodeHash<StoredSecret>(hash as Record<string, string>) ?? [])))
  }

  const all = async () => storedMany(await redis.zrangebylex(keys.allSecrets, '-', '+'))

  return {
    /** A new secret; SECRET_EXISTS for a taken id, SECRET_VALUE_INVALID, SECRET_REPO_PATTERN_INVALID. */
    async create (input: { id: string; kind: SecretKind; value: Buffer; repos: string[]; tokens: string[] }, actor: Actor): Promise<Secret> {
      const value = checkValue(input.kind, input.value)
      const now = new Date().toISOString()
      const secret: StoredSecret = {
        id: input.id,
        kind: input.kind,
        repos: checkRepos(input.repos),
        tokens: input.tokens,
        sizeBytes: value.length,
        createdAt: now,
        createdBy: actor,
        updatedAt: now,
        updatedBy: actor,
        sealed: seal(keyring, input.id, input.kind, value)
      }
      if (!(await redis.createSecret(keys.secret(secret.id), keys.allSecrets, secret.id, ...Object.entries(encodeHash(secret)).flat()))) {
        throw new SecretExists(secret.id, secret.id)
      }
      await audit.record({ actor, action: 'secret.create', kind: 'secret', resourceId: secret.id, summary: describeScope(secret) })
      return toResource(secret)
    },

    async get (id: string): Promise<Secret | null> {
      const secret = await stored(id)
      return secret && toResource(secret)
    },

    /** Every secret, by id; there are tens, not millions. */
    list: async (): Promise<Secret[]> => (await all()).map(toResource),

    /** Changes the value, the repositories or the tokens; null when there is no such secret. */
    async update (id: string, changes: { value?: Buffer | undefined; repos?: string[] | undefined; tokens?: string[] | undefined }, actor: Actor): Promise<Secret | null> {
      const secret = await stored(id)
      if (!secret) return null
      const fields: Partial<StoredSecret> = { updatedAt: new Date().toISOString(), updatedBy: actor }
      if (changes.value !== undefined) {
        const value = checkValue(secret.kind, changes.value)
        fields.sealed = seal(keyring, id, secret.kind, value)
        fields.sizeBytes = value.length
      }
      if (changes.repos !== undefined) fields.repos = checkRepos(changes.repos)
      if (changes.tokens !== undefined) fields.tokens = changes.tokens
      if (!(await redis.changeSecret(keys.secret(id), '', ...Object.entries(encodeHash(fields)).flat()))) return null
      const changed = Object.keys(changes).filter((field) => changes[field as keyof typeof changes] !== undefined)
      await audit.record({ actor, action: 'secret.update', kind: 'secret', resourceId: id, summary: `changed ${changed.join(', ')}; now ${describeScope({ ...secret, ...fields })}` })
      return toResource({ ...secret, ...fields })
    },

    async remove (id: string, actor: Actor): Promise<boolean> {
      const [[, removed] = [null, 0]] = (await redis.multi().del(keys.secret(id)).zrem(keys.allSecrets, id).exec()) ?? []
      if (!removed) return false
      await audit.record({ actor, action: 'secret.delete', kind: 'secret', resourceId: id, summary: 'deleted' })
      return true
    },

    /** Who may use each of these secrets (those that exist), without opening any value. */
    async scopes (ids: string[]): Promise<Map<string, SecretScope>> {
      const found = await storedMany([...new Set(ids)])
      return new Map(found.map((secret) => [secret.id, scopeOf(secret)]))
    },

    /** A secret's scope and its value, opened; null when there is none. Throws SecretUnreadable when no key of the keyring opens it. */
    async reveal (id: string): Promise<{ scope: SecretScope; value: Buffer } | null> {
      const secret = await stored(id)
      if (!secret) return null
      return { scope: scopeOf(secret), value: open(keyring, secret.id, secret.kind, secret.sealed) }
    },

    /**
     * Seals every value held under the previous key with the current one, each only if it was not
     * changed meanwhile; how many there are, how many it changed, and which neither key opens.
     */
    async reencrypt (actor: Actor): Promise<SecretReencryptResult> {
      const secrets = await all()
      const currentKey = keyFingerprint(keyring.current)
      const result: SecretReencryptResult = { total: secrets.length, reencrypted: 0, current: 0, unreadable: [] }
      for (const secret of secrets) {
        if (secret.sealed.key === currentKey) {
          result.current++
          continue
        }
        if (!sealingKey(keyring, secret.sealed)) {
          result.unreadable.push(secret.id)
          continue
        }
        const value = open(keyring, secret.id, secret.kind, secret.sealed)
        const resealed = seal(keyring, secret.id, secret.kind, value)
        // Changed meanwhile (by a PATCH, so under the current key already) or deleted: left as it is.
        if (await redis.changeSecret(keys.secret(secret.id), JSON.stringify(secret.sealed), 'sealed', JSON.stringify(resealed))) result.reencrypted++
        else result.current++
      }
      const summary = `re-encrypted ${result.reencrypted} of ${result.total} values with the current key${result.unreadable.length ? `; unreadable: ${result.unreadable.join(', ')}` : ''}`
      await audit.record({ actor, action: 'secret.reencrypt', kind: 'secret', resourceId: '*', summary })
      return result
    }
  }
}

export type SecretStore = ReturnType<typeof createSecretStore>

/**
 * Refuses (SECRET_NOT_ALLOWED, naming the first id) unless every secret and SSH key the request
 * names exists, is of its kind and may be used by `user`. The same refusal for a secret that does
 * not exist as for one that may not be used, so ids cannot be probed.
 */
export async function assertMayUseSecrets (
  secrets: Pick<SecretStore, 'scopes'>,
  request: { secrets?: string[] | undefined; ssh?: string[] | undefined },
  user: SecretUser
): Promise<void> {
  const wanted = requestedSecrets(request)
  if (wanted.length === 0) return
  const scopes = await secrets.scopes(wanted.map((secret) => secret.id))
  for (const { id, kind } of wanted) {
    const scope = scopes.get(id)
    if (!scope || !mayUse(scope, kind, user)) throw secretNotAllowed(id, kind, user)
  }
}

function secretNotAllowed (id: string, kind: SecretKind, user: SecretUser): Error {
  const build = user.repo === null ? 'an upload' : `repository ${printable(user.repo)}`
  const who = user.token === null ? 'no token' : `token '${printable(user.token.name ?? user.token.id)}'`
  return new SecretNotAllowed(kind === 'ssh' ? 'SSH key' : 'secret', printable(id), build, who, encodeURIComponent(id))
}

/**
 * The token a build uses secrets as: the token that made it or, for a trigger rule's build, the
 * token that last wrote the rule (null when the rule is gone, or for builds made otherwise).
 */
export async function secretUserOf (triggers: Pick<TriggerStore, 'get'>, build: Pick<BuildRecord, 'request' | 'createdBy'>): Promise<SecretUser> {
  const actor = build.createdBy
  let token: SecretUser['token'] = null
  if (actor?.kind === 'token') token = actor
  else if (actor?.kind === 'trigger') {
    const rule = await triggers.get(actor.id)
    const author = rule?.author ?? rule?.createdBy
    if (author?.kind === 'token') token = author
  }
  return { repo: build.request.repo, token }
}

/** What a worker hands BuildKit's session: each secret's and each SSH key's bytes by id. */
export interface BuildSecrets {
  secrets: Record<string, Buffer>
  ssh: Record<string, Buffer>
}

/**
 * For the worker, as a build starts: checks again that the build may use every secret and SSH key
 * it names (its repository, and the token that made it or last wrote its trigger rule; a secret
 * narrowed or deleted since the build was queued is refused), then opens them. Throws an error
 * with code SECRET_NOT_ALLOWED naming the first id it may not use. A build that names none gets
 * empty maps without a Redis round trip.
 */
export async function loadBuildSecrets (
  deps: { secrets: Pick<SecretStore, 'reveal'> | null; triggers: Pick<TriggerStore, 'get'> },
  build: Pick<BuildRecord, 'request' | 'createdBy'>
): Promise<BuildSecrets> {
  const loaded: BuildSecrets = { secrets: {}, ssh: {} }
  const wanted = requestedSecrets(build.request)
  if (wanted.length === 0) return loaded
  const user = await secretUserOf(deps.triggers, build)
  // Without a key nothing can be opened: refused as if the secrets were not there.
  if (!deps.secrets) throw secretNotAllowed(wanted[0]!.id, wanted[0]!.kind, user)
  for (const { id, kind } of wanted) {
    // Each secret read once, checked against the scope stored with the value: as it is now.
    const revealed = await deps.secrets.reveal(id)
    if (!revealed || !mayUse(revealed.scope, kind, user)) throw secretNotAllowed(id, kind, user)
    loaded[kind === 'ssh' ? 'ssh' : 'secrets'][id] = revealed.value
  }
  return loaded
}
