import type { AuditLog } from '../storage/audit-log.js'
import { BuildExpired, BuildFinished, BuildNotFinished, BuildNotFound, IdempotencyKeyInProgress, IdempotencyKeyReused, RedisUnavailable, SecretsDisabled, UploadNotKept } from '../domain/errors.js'
import { fingerprint } from '../domain/fingerprint.js'
import { newId } from '../domain/ids.js'
import { quotaExceeded } from '../domain/quotas.js'
import type { Actor } from '../domain/schemas/audit.js'
import { TERMINAL_STATUSES, type Build, type BuildRecord, type BuildRequest, type BuildUploadOptions, type NormalizedRequest } from '../domain/schemas/build.js'
import type { StoredUpload, UploadStore } from '../storage/upload-store.js'
import type { WebhookQueue } from '../storage/webhook-queue.js'
import type { WebhookService } from './webhook-service.js'
import { endBuild } from './build-ending.js'
import type { BuildQueue } from '../storage/build-queue.js'
import { checkCacheFrom, checkSecretsBuilder, newBuildRecord, normalizeBuildRequest, normalizeImage, normalizeUploadRequest, UPLOAD_IMAGE_NAME, type RequestPolicy } from '../domain/builds/build-request.js'
import { SECRETS_KEY_HINT } from '../domain/secrets/secret-key.js'
import { assertMayUseSecrets, type SecretStore } from '../storage/secrets.js'
import { checkImageReference } from '../domain/builds/image-ref.js'
import { toResource } from '../domain/builds/build-resource.js'
import type { BuildStore, Claim, Creation, ListQuery, StoredBuildWebhook } from '../storage/build-store.js'
import type { Idempotency } from '../storage/idempotency.js'
import { assertMayImportCache, assertMayPush, type PushLimit } from '../domain/builds/push-allow.js'

// How long a repeat waits for the build its twin is creating (a few Redis round trips, normally).
const TWIN_WAIT_MS = 5000

/** What became of a POST: a new build, or one it joined or repeated. */
export interface Submission {
  build: Build
  /** The same Idempotency-Key and body were seen before: this is that build. */
  replayed: boolean
  /** An identical build was already queued or running: this is it. */
  joined: boolean
}

/** Who asks, where they may push, and the request's Idempotency-Key if it has one. */
export interface SubmitOptions {
  actor: Actor
  /** A pushed image must be inside every one of these. */
  limits: readonly PushLimit[]
  idempotencyKey?: string | undefined
  /**
   * The token whose secrets the build may use: by default the actor when it is a token; a
   * trigger rule's builds use those of the token that last wrote the rule. Null: none.
   */
  secretsToken?: { id: string; name: string | null } | null
}

/**
 * Refuses (IMAGE_NOT_ALLOWED) a build that would push where its sender may not, and
 * (CACHE_FROM_NOT_ALLOWED) one that would import cache from where its sender may not push.
 */
function checkPush (request: { image: string; push: boolean; cacheFrom?: string[] }, options: Pick<SubmitOptions, 'actor' | 'limits'>): void {
  if (request.push) assertMayPush(request.image, options.limits, options.actor)
  for (const [i, reference] of (request.cacheFrom ?? []).entries()) {
    assertMayImportCache(reference, checkImageReference(reference, `cacheFrom[${i}]`).repository, options.limits, options.actor)
  }
}

/** A build's request in a line, for the audit trail. */
function describeRequest (request: NormalizedRequest): string {
  const source = request.source ? `an upload (sha256:${request.source.sha256.slice(0, 12)})` : `${request.repo}${request.ref === null ? '' : ` at ${request.ref}`}`
  return `${source} as ${request.image}${request.push ? ' (pushed)' : ''}`
}

/** What the API does with builds; it never runs git or docker itself. */
export function createBuildService (deps: {
  store: BuildStore
  idempotency: Idempotency
  queue: BuildQueue
  webhooks: WebhookService
  events: WebhookQueue
  uploads: Pick<UploadStore, 'discard'>
  policy: RequestPolicy
  /** Secrets Slipway holds; null without SLIPWAY_SECRETS_KEY (then a build naming any is 503 SECRETS_DISABLED). */
  secrets: Pick<SecretStore, 'scopes'> | null
  /** Builds one actor may have queued or running at once (SLIPWAY_QUOTA_ACTIVE_BUILDS). */
  maxActiveBuilds: number
  audit: AuditLog
  logger: { error(details: object, message: string): void }
  /** SLIPWAY_RETENTION and SLIPWAY_RETENTION_KEEP_LAST, which an expired build's answer names. */
  retention: { retention: string; retentionKeepLast: number }
}) {
  const { store, queue, idempotency } = deps

  /**
   * Refuses (SECRET_NOT_ALLOWED) a build naming a secret or SSH key (or a report token) that does
   * not exist or that its repository or token may not use. Only ids are looked at and kept, never values.
   */
  async function checkSecrets (
    request: { repo: string | null; secrets?: string[]; ssh?: string[]; report?: { token: string } | null },
    options: Pick<SubmitOptions, 'actor' | 'secretsToken'>
  ): Promise<void> {
    // The forge token a report uses is a secret too, held to the same scope; it is never mounted.
    const secrets = [...(request.secrets ?? []), ...(request.report ? [request.report.token] : [])]
    if (secrets.length + (request.ssh?.length ?? 0) === 0) return
    if (!deps.secrets) throw new SecretsDisabled(SECRETS_KEY_HINT)
    const token = options.secretsToken !== undefined ? options.secretsToken : options.actor.kind === 'token' ? options.actor : null
    await assertMayUseSecrets(deps.secrets, { secrets, ssh: request.ssh }, { repo: request.repo, token })
  }

  /** The error for a build that is not there: BUILD_EXPIRED while its tombstone is kept, else BUILD_NOT_FOUND. */
  async function missing (id: string): Promise<Error> {
    const expiredAt = await store.expiredAt(id)
    if (expiredAt === null) return new BuildNotFound(id)
    return new BuildExpired(id, new Date(expiredAt).toISOString(), deps.retention.retention, deps.retention.retentionKeepLast)
  }
  const ending = { store, events: deps.events }

  /**
   * Stores a build within its actor's quota of builds queued or running (per token, or per
   * trigger rule for the builds its pushes start); past it, QUOTA_EXCEEDED and nothing is stored.
   */
  async function createCounted (record: BuildRecord, actor: Actor, claim?: Claim): Promise<Exclude<Creation, { kind: 'full' }>> {
    const created = await store.create(record, { claim, active: { actorId: actor.id, max: deps.maxActiveBuilds } })
    if (created.kind === 'full') throw quotaExceeded('quotaActiveBuilds', deps.maxActiveBuilds, actor)
    return created
  }

  async function get (id: string): Promise<Build> {
    const record = await store.get(id)
    if (!record) throw await missing(id)
    return toResource(record)
  }

  /** The build a twin request is creating, once it exists. */
  async function twin (id: string): Promise<BuildRecord | null> {
    const deadline = Date.now() + TWIN_WAIT_MS
    for (;;) {
      const record = await store.get(id)
      if (record || Date.now() > deadline) return record
      // Removed by the retention sweeper: it will not appear.
      if ((await store.expiredAt(id)) !== null) return null
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  /**
   * Records in the audit trail, enqueues and announces a stored build. Stored and recorded before
   * enqueued: nothing is acknowledged that is not kept, and no build runs that the trail lacks.
   */
  async function admit (record: BuildRecord, ownWebhooks: StoredBuildWebhook[], actor: Actor): Promise<Build> {
    // The build's own subscriptions (with their secrets) are kept beside the record, never in it.
    await store.saveWebhooks(record.id, ownWebhooks)
    const action = record.retryOf ? 'build.retry' : 'build.create'
    const summary = record.retryOf ? `retried build ${record.retryOf}: ${describeRequest(record.request)}` : describeRequest(record.request)
    try {
      await deps.audit.record({ actor, action, kind: 'build', resourceId: record.id, summary })
      await queue.enqueue(record.id, record.request.priority)
    } catch (error) {
      await store
        .transition(record.id, {
          from: ['queued'],
          to: 'failed',
          set: { finishedAt: new Date().toISOString(), error: { code: 'INTERNAL', message: 'The build could not be queued.', phase: null } }
        })
        .catch(() => undefined)
      throw new RedisUnavailable({ cause: error })
    }
    const resource = toResource(record)
    // The build is queued whatever happens to its announcement; a lost one is logged.
    await deps.events.emit('build.queued', resource).catch((error: unknown) => deps.logger.error({ err: error, buildId: record.id }, 'build.queued was not announced'))
    return resource
  }

  /**
   * What a build claims as it is stored, so that an identical request joins it while it is queued
   * or running: none with `force` or `supersede`. Identical: the same normalised request with the
   * same receivers (their URLs, not their secrets).
   */
  function inflightClaim (normalized: NormalizedRequest, webhooks: StoredBuildWebhook[]): Claim | undefined {
    if (normalized.force || normalized.supersede) return undefined
    const sameRequest = fingerprint({ ...normalized, webhooks: webhooks.map(({ secret: _secret, ...rest }) => rest) })
    return { request: sameRequest }
  }

  /** Cancels the queued builds of the same repository, ref and image that `newer` replaces. */
  async function supersedeOlder (newer: BuildRecord, actor: Actor): Promise<void> {
    // Only repository builds supersede: an upload has no repository and ref to compare.
    if (newer.request.repo === null) return
    const { items } = await store.list({ status: 'queued', limit: 100, repo: newer.request.repo })
    const same = items.filter(
      (older) => older.id < newer.id && older.request.ref === newer.request.ref && older.request.image === newer.request.image
    )
    for (const older of same) {
      const message = `Superseded by build ${newer.id}, a newer build of the same repository, ref and image.`
      const canceled = { canceledBy: actor, canceledAt: new Date().toISOString() }
      if (await endBuild(ending, older.id, { from: ['queued'], to: 'canceled', error: { code: 'SUPERSEDED', message, phase: null }, set: canceled })) {
        await queue.remove(older.id)
        await deps.audit.record({ actor, action: 'build.cancel', kind: 'build', resourceId: older.id, summary: `superseded by build ${newer.id}` })
      }
    }
  }

  /** A checked request from here on: the Idempotency-Key, then joining an identical build, then a new one. */
  async function accept (input: {
    id: string
    normalized: NormalizedRequest
    /** What the request sent, for telling a repeat from another request under the same key. */
    body: unknown
    webhooks: BuildRequest['webhooks']
    options: SubmitOptions
  }): Promise<Submission> {
    const { id, normalized } = input
    const { actor, idempotencyKey } = input.options
    // A key is the client's own: another token's request with the same key is another request.
    const idempotencyScope = actor.id
    if (idempotencyKey !== undefined) {
      const claim = await idempotency.claim(idempotencyScope, idempotencyKey, fingerprint(input.body), id)
      if (claim.kind === 'mismatch') throw new IdempotencyKeyReused()
      if (claim.kind === 'replay') {
        const earlier = await twin(claim.buildId)
        // The build this key made is gone (BUILD_EXPIRED), or still being made.
        if (!earlier) throw (await store.expiredAt(claim.buildId)) !== null ? await missing(claim.buildId) : new IdempotencyKeyInProgress()
        return { build: toResource(earlier), replayed: true, joined: false }
      }
    }
    try {
      const webhooks = deps.webhooks.prepareBuildWebhooks(input.webhooks)
      const record = newBuildRecord(id, { ...normalized, webhooks: webhooks.views }, new Date(), actor)
      const claim = inflightClaim(normalized, webhooks.stored)
      // Joining an identical build makes none, so the claim is checked before the actor's quota.
      let created = await createCounted(record, actor, claim)
      while (claim && created.kind === 'held') {
        const joined = await twin(created.holder)
        if (joined && !TERMINAL_STATUSES.includes(joined.status)) return { build: toResource(joined), replayed: false, joined: true }
        // The identical build has ended: this one takes the claim over from it, in the same script
        // that stores it, unless another identical request took it over first (then join that one).
        created = await createCounted(record, actor, { ...claim, replacing: created.holder })
      }
      const resource = await admit(record, webhooks.stored, actor)
      if (normalized.supersede) await supersedeOlder(record, actor)
      // The secrets Slipway made are shown in this answer, once.
      const views = webhooks.views.map((view, i) => {
        const made = input.webhooks?.[i]?.secret === undefined ? webhooks.stored[i]?.secret : undefined
        return made ? { ...view, secret: made } : view
      })
      return { build: { ...resource, request: { ...resource.request, webhooks: views } }, replayed: false, joined: false }
    } catch (error) {
      if (idempotencyKey !== undefined) await idempotency.release(idempotencyScope, idempotencyKey).catch(() => undefined)
      throw error
    }
  }

  return {
    get,
    missing,

    /** Sizes of a repository's succeeded builds, oldest first, optionally of one ref, Dockerfile and target. */
    async sizeHistory (repo: string, filter: { ref?: string | undefined; dockerfile?: string | undefined; target?: string | undefined; limit: number }) {
      const points = []
      const sameRef = (build: BuildRecord) =>
        filter.ref === undefined || [build.request.ref, build.resolvedRef, build.resolvedRef?.replace(/^refs\/(heads|tags)\//, '')].includes(filter.ref)
      let cursor: string | undefined
      while (points.length < filter.limit) {
        const page = await store.list({ repo, status: 'succeeded', limit: 100, ...(cursor ? { cursor } : {}) })
        for (const build of page.items) {
          if (!build.image || !build.commit || !build.finishedAt || !sameRef(build)) continue
          if ((filter.dockerfile !== undefined && build.request.dockerfile !== filter.dockerfile) || (filter.target !== undefined && build.request.target !== filter.target)) continue
          const { sizeBytes, baseBytes, addedBytes } = build.image
          const { ref, dockerfile, target, maxImageBytes } = build.request
          points.push({ buildId: build.id, finishedAt: build.finishedAt, ref, commit: build.commit, dockerfile, target, sizeBytes, baseBytes, addedBytes, maxImageBytes })
        }
        if (!page.nextCursor) break
        cursor = page.nextCursor
      }
      return points.slice(0, filter.limit).reverse()
    },

    async list (query: ListQuery): Promise<{ items: Build[]; nextCursor: string | null }> {
      const page = await store.list(query)
      return { items: page.items.map(toResource), nextCursor: page.nextCursor }
    },

    /**
     * A build request: checked and normalised, its push held to the sender's limits, then, in
     * order: a repeat of an Idempotency-Key gets the build it made; an identical build already
     * queued or running is joined (unless `force` or `supersede`); otherwise a new build is stored
     * and queued.
     */
    async submit (request: BuildRequest, options: SubmitOptions): Promise<Submission> {
      const normalized = normalizeBuildRequest(request, deps.policy)
      checkPush(normalized, options)
      await checkSecrets(normalized, options)
      return accept({ id: newId(), normalized, body: request, webhooks: request.webhooks, options })
    },

    /** Refuses a request as submit would on its face (a coded 4xx error), storing nothing. */
    async vet (request: BuildRequest, sender: Pick<SubmitOptions, 'actor' | 'limits' | 'secretsToken'>): Promise<void> {
      const normalized = normalizeBuildRequest(request, deps.policy)
      checkPush(normalized, sender)
      await checkSecrets(normalized, sender)
    },

    /** Refuses an upload's options as submitUpload would, before its tar is received and kept. */
    async vetUpload (options: BuildUploadOptions, sender: Pick<SubmitOptions, 'actor' | 'limits' | 'secretsToken'>): Promise<void> {
      checkPush({ ...normalizeImage(options, UPLOAD_IMAGE_NAME, deps.policy), cacheFrom: checkCacheFrom(options.cacheFrom ?? []) }, sender)
      await checkSecrets({ repo: null, ...checkSecretsBuilder(options, deps.policy) }, sender)
    },

    /**
     * The same for an uploaded tar, stored already under the id its build is to have. An upload
     * no build is made of (a repeat, a join, a refusal) is removed.
     */
    async submitUpload (options: BuildUploadOptions, upload: StoredUpload, submit: SubmitOptions): Promise<Submission> {
      try {
        const normalized = normalizeUploadRequest(options, upload.source, deps.policy)
        checkPush(normalized, submit)
        await checkSecrets(normalized, submit)
        // A repeat is the same options with the same bytes.
        const body = { options, sha256: upload.source.sha256 }
        const submission = await accept({ id: upload.id, normalized, body, webhooks: options.webhooks, options: submit })
        if (submission.build.id !== upload.id) await deps.uploads.discard(upload.id)
        return submission
      } catch (error) {
        await deps.uploads.discard(upload.id).catch(() => undefined)
        throw error
      }
    },

    /** A new build of an ended one's request, pinned to the commit it built (or tried to), pushed only where the retrying sender may. */
    async retry (id: string, options: Pick<SubmitOptions, 'actor' | 'limits' | 'secretsToken'>): Promise<Build> {
      const { actor } = options
      const original = await store.get(id)
      if (!original) throw await missing(id)
      if (!TERMINAL_STATUSES.includes(original.status)) throw new BuildNotFinished(id, original.status)
      if (original.request.source) throw new UploadNotKept(id)
      checkPush(original.request, options)
      // The retrying token must be allowed the secrets itself, whoever made the first build.
      await checkSecrets(original.request, options)
      const request = { ...original.request, ref: original.commit ?? original.request.ref }
      const record = { ...newBuildRecord(newId(), request, new Date(), actor), retryOf: id }
      const ownWebhooks = await store.webhooksOf(id)
      await createCounted(record, actor)
      return admit(record, ownWebhooks, actor)
    },

    /**
     * Cancels a build. A queued one ends at once; a running one is flagged, and the worker running
     * it (whichever process, whichever host) stops it within seconds. An ended one cannot be.
     */
    async cancel (id: string, actor: Actor): Promise<Build> {
      const record = await store.get(id)
      if (!record) throw await missing(id)
      if (TERMINAL_STATUSES.includes(record.status)) throw new BuildFinished(id, record.status)
      const by = actor.name ?? actor.id
      const error = { code: 'CANCELED' as const, message: `Canceled by ${actor.kind} '${by}'.`, phase: null }
      const canceled = { canceledBy: actor, canceledAt: new Date().toISOString() }
      if (await endBuild(ending, id, { from: ['queued'], to: 'canceled', error, set: canceled })) {
        await queue.remove(id)
      } else if (!(await store.transition(id, { from: ['running'], to: 'running', set: { cancelRequested: true, ...canceled } }))) {
        // It ended meanwhile.
        const now = await get(id)
        throw new BuildFinished(id, now.status)
      }
      await deps.audit.record({ actor, action: 'build.cancel', kind: 'build', resourceId: id, summary: `canceled while ${record.status}` })
      return get(id)
    }
  }
}

export type BuildService = ReturnType<typeof createBuildService>
