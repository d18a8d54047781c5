import { createHmac } from 'node:crypto'
import type { AuditLog } from '../storage/audit-log.js'
import type { RequestPolicy } from '../domain/builds/build-request.js'
import { buildLinks } from '../domain/builds/build-resource.js'
import type { BuildService } from './build-service.js'
import { parseRepoUrl, printable, redactUrl, repoKey } from '../domain/builds/repo-url.js'
import { ruleLimits, tokenLimit, type PushGrant, type PushPolicy } from '../domain/builds/push-allow.js'
import { BodyInvalid, CacheFromNotAllowed, ImageNotAllowed, QuotaExceeded, SecretNotAllowed, SecretsDisabled, TriggerDeliveryIdInvalid, TriggerEventInProgress, TriggerEventsInvalid, TriggerNotFound, TriggerSignatureInvalid, TriggerSignatureMissing } from '../domain/errors.js'
import { newId } from '../domain/ids.js'
import { withCreator, type Actor, type PullRequest } from '../domain/schemas/audit.js'
import type { BuildRequest } from '../domain/schemas/build.js'
import type { Trigger, TriggerCreate, TriggerEvent, TriggerEventResult, TriggerProvider, TriggerUpdate } from '../domain/schemas/trigger.js'
import { branchMatches, branchOf } from '../domain/triggers/branch-match.js'
import type { DeliveryLedger, HandledDelivery } from '../storage/delivery-ledger.js'
import { generateTriggerSecret } from '../domain/triggers/event-signature.js'
import { readEvent, type EventDelivery, type ProviderEvent } from '../domain/triggers/provider-event.js'
import type { StoredTrigger, TriggerStore } from '../storage/trigger-store.js'

/** The label every triggered build's image carries: the id of the rule that started it. */
export const TRIGGER_LABEL = 'dev.slipway.trigger'

const DELIVERY_ID = /^[\x21-\x7e]{1,200}$/

/** A rule's push patterns, for the audit trail: whoever writes a rule sets them. */
const pushingWithin = (author: PushGrant) => `builds push within ${author.patterns.join(', ') || 'nothing'} (${author.from})`

/** The token whose secrets a rule's builds may use: the token that wrote the rule last. */
const secretsTokenOf = (author: Actor | null | undefined) => (author?.kind === 'token' ? author : null)

/** What an event asks a rule to build: a pushed commit, or a pull (merge) request's head. */
interface BuildTarget {
  commit: string
  /** The ref the event was about, kept on the build as what it continues (refs/heads/main, refs/pull/7/head). */
  ref: string
  pullRequest: PullRequest | null
  /** Who the event says pushed, or opened or updated the request; null when it names no one plainly. */
  pusher: string | null
}

/** Which events a rule takes; rules made before pull requests were built take pushes. */
const eventsOf = (rule: Pick<StoredTrigger, 'events'>): TriggerEvent[] => rule.events ?? ['push']

/** GitHub has pull requests, GitLab merge requests: a rule names its own provider's. */
function checkEvents (provider: TriggerProvider, events: TriggerEvent[] | undefined): void {
  const [own, other, forge] = provider === 'github' ? ['pull_request', 'merge_request', 'GitHub'] as const : ['merge_request', 'pull_request', 'GitLab'] as const
  if (events?.includes(other)) {
    throw new TriggerEventsInvalid(`${forge} sends ${own.replace('_', ' ')}s, not ${other.replace('_', ' ')}s: a ${forge} rule takes events "push" and "${own}".`)
  }
}

/** An event's answer: 200 for a ping or a repeat, 202 for a push handled now (built or not). */
export interface EventOutcome {
  statusCode: 200 | 202
  result: TriggerEventResult
}

/** Trigger rules, and the push events that start builds by them. */
export function createTriggerService (deps: {
  store: TriggerStore
  ledger: DeliveryLedger
  builds: BuildService
  policy: RequestPolicy
  pushPolicy: PushPolicy
  publicUrl: string
  audit: AuditLog
}) {
  const { store, ledger } = deps

  const toResource = (stored: StoredTrigger): Trigger => {
    const { secret: _secret, repoKey: _repoKey, author: _author, ...resource } = stored
    // Rules made before rules recorded their authors' patterns have none.
    const pushAllow = { pushAllow: stored.pushAllow ?? null, pushAllowFrom: stored.pushAllowFrom ?? null }
    const events = { events: eventsOf(stored), pushPullRequests: stored.pushPullRequests ?? false }
    return { ...withCreator(resource), ...pushAllow, ...events, eventsUrl: `${deps.publicUrl}/v1/triggers/${stored.provider}` }
  }

  async function existing (id: string): Promise<StoredTrigger> {
    const trigger = await store.get(id)
    if (!trigger) throw new TriggerNotFound(id)
    return trigger
  }

  /**
   * The build a rule starts for a pushed commit or a pull request's head. Its repository is the
   * rule's, never a URL the event names (a fork's head commit is fetched from the rule's
   * repository, where the forge keeps it under the request's ref). A pull request's image is
   * pushed, as pr-<number>, only when the rule says so and never from a fork: a fork's author
   * must not be able to put an image in the team's registry.
   */
  function buildRequest (rule: Pick<StoredTrigger, 'id' | 'repo' | 'build' | 'pushPullRequests'>, target: Pick<BuildTarget, 'commit' | 'pullRequest'>): BuildRequest {
    const request: BuildRequest = { ...rule.build, repo: rule.repo, ref: target.commit, labels: { ...rule.build.labels, [TRIGGER_LABEL]: rule.id } }
    const pullRequest = target.pullRequest
    if (pullRequest === null) return request
    if (rule.pushPullRequests === true && !pullRequest.fork) return { ...request, tags: [`pr-${pullRequest.number}`] }
    return { ...request, push: false }
  }

  /**
   * Refuses, at once, options that would make every triggered build fail validation later, and a
   * build that would push where the rule's author may not: whoever writes a rule lends it only the
   * pushes they could make themselves.
   */
  async function checkOptions (rule: Pick<StoredTrigger, 'id' | 'repo' | 'build'>, author: PushGrant, actor: Actor): Promise<void> {
    await deps.builds.vet(buildRequest(rule, { commit: '0'.repeat(40), pullRequest: null }), { actor, limits: [tokenLimit(author)], secretsToken: secretsTokenOf(actor) })
  }

  /**
   * Starts one build per matching rule, each exactly once however often the delivery comes. A rule
   * whose build would push outside its limits (ruleLimits), or that is at its quota of active
   * builds, starts nothing and says why; the others go on.
   */
  async function start (provider: TriggerProvider, deliveryId: string, rules: StoredTrigger[], target: BuildTarget): Promise<HandledDelivery> {
    const builds = []
    const refused = []
    for (const rule of rules) {
      // The same key for the same delivery and rule: if this delivery's handler died after some
      // builds were made, handling it again gets those builds back rather than making them twice.
      // Keyed with the rule's secret, so no client of POST /v1/builds can take the key first.
      const key = `trigger-${createHmac('sha256', rule.secret).update(`${provider}:${deliveryId}`).digest('hex')}`
      const actor: Actor = {
        kind: 'trigger',
        id: rule.id,
        name: rule.name,
        deliveryId,
        ref: target.ref,
        ...(target.pullRequest ? { pullRequest: target.pullRequest } : {}),
        ...(target.pusher !== null ? { pusher: target.pusher } : {})
      }
      try {
        const secretsToken = secretsTokenOf(rule.author ?? rule.createdBy)
        const { build } = await deps.builds.submit(buildRequest(rule, target), { actor, limits: ruleLimits(rule, deps.pushPolicy), idempotencyKey: key, secretsToken })
        builds.push({ id: build.id, ruleId: rule.id })
      } catch (error) {
        const refusal = [ImageNotAllowed, CacheFromNotAllowed, QuotaExceeded, SecretNotAllowed, SecretsDisabled].some((type) => error instanceof type)
        if (!refusal) throw error
        const { code, message } = error as { code: string; message: string }
        refused.push({ ruleId: rule.id, code, message })
      }
    }
    return { rules: builds.map((build) => build.ruleId), builds, refused }
  }

  /**
   * The rules of the event's repository whose own secret the event proves it knows: only those
   * may act on it. An event names its repository several ways (clone, ssh and web URLs), and a
   * sender may put another repository's URL in any of them; a rule of that repository whose secret
   * did not sign the event is not the sender's to run. None verified is refused as a repository
   * without rules is, so that no caller without a secret learns which repositories have rules.
   */
  async function verifiedRules (provider: TriggerProvider, event: ProviderEvent): Promise<StoredTrigger[]> {
    if (event.credential === undefined) throw new TriggerSignatureMissing(event.credentialHeader)
    const candidates = await store.forRepo(provider, [...new Set(event.repoUrls.map(repoKey))])
    const rules = candidates.filter((rule) => event.verify([rule.secret]))
    if (rules.length === 0) throw new TriggerSignatureInvalid(event.credentialHeader, provider, printable(redactUrl(event.repoUrls[0]!)))
    return rules
  }

  return {
    /** A new rule, whose builds may push where its author may; its secret is in this answer and never again. */
    async create (body: TriggerCreate, author: PushGrant, actor: Actor): Promise<Trigger> {
      const repo = parseRepoUrl(body.repo, deps.policy.repos)
      checkEvents(body.provider, body.events)
      const now = new Date().toISOString()
      const stored: StoredTrigger = {
        id: newId(),
        name: body.name ?? null,
        provider: body.provider,
        repo: repo.url,
        repoKey: repo.key,
        branches: body.branches,
        events: body.events ?? ['push'],
        pushPullRequests: body.pushPullRequests ?? false,
        build: body.build ?? {},
        enabled: body.enabled ?? true,
        createdAt: now,
        createdBy: actor,
        updatedAt: now,
        pushAllow: author.patterns,
        pushAllowFrom: author.from,
        secret: body.secret ?? generateTriggerSecret(),
        author: actor
      }
      await checkOptions(stored, author, actor)
      await store.create(stored)
      const summary = `${stored.provider} ${eventsOf(stored).join(' and ')} events for ${stored.branches.join(', ')} of ${stored.repo}; ${pushingWithin(author)}`
      await deps.audit.record({ actor, action: 'trigger.create', kind: 'trigger', resourceId: stored.id, summary })
      return { ...toResource(stored), secret: stored.secret }
    },

    list: async (): Promise<Trigger[]> => (await store.list()).map(toResource),

    get: async (id: string): Promise<Trigger> => toResource(await existing(id)),

    /** Changes a rule; whoever changes it becomes the author whose pushes its builds may make. */
    async update (id: string, changes: TriggerUpdate, author: PushGrant, actor: Actor): Promise<Trigger> {
      const trigger = await existing(id)
      checkEvents(trigger.provider, changes.events)
      await checkOptions({ ...trigger, build: changes.build ?? trigger.build }, author, actor)
      await store.update(id, { ...changes, pushAllow: author.patterns, pushAllowFrom: author.from, author: actor })
      const summary = `changed ${Object.keys(changes).join(', ')}; ${pushingWithin(author)}`
      await deps.audit.record({ actor, action: 'trigger.update', kind: 'trigger', resourceId: id, summary })
      return toResource(await existing(id))
    },

    async remove (id: string, actor: Actor): Promise<void> {
      if (!(await store.remove(id))) throw new TriggerNotFound(id)
      await deps.audit.record({ actor, action: 'trigger.delete', kind: 'trigger', resourceId: id, summary: 'deleted' })
    },

    /**
     * A GitHub or GitLab event. Refused unless it names a repository with rules and carries the
     * signature (GitHub) or token (GitLab) of one of them. A push to a branch starts a build for
     * each enabled rule whose patterns match; the same delivery again starts nothing and answers
     * what the first one started.
     */
    async receive (provider: TriggerProvider, delivery: EventDelivery): Promise<EventOutcome> {
      const event = readEvent(provider, delivery)
      const deliveryId = event.deliveryId !== undefined && DELIVERY_ID.test(event.deliveryId) ? event.deliveryId : null
      const answer = (statusCode: 200 | 202, result: Partial<TriggerEventResult> & Pick<TriggerEventResult, 'status'>): EventOutcome => ({
        statusCode,
        result: { event: event.name, deliveryId, reason: null, rules: [], builds: [], refused: [], ...result }
      })
      const ignored = (reason: string, statusCode: 200 | 202 = 202) => answer(statusCode, { status: 'ignored', reason })

      if (event.repoUrls.length === 0) {
        // An organisation's webhook pings without a repository; there is nothing to check it against.
        if (event.kind === 'ping') return ignored('ping: nothing to build', 200)
        throw new BodyInvalid(`The ${provider} event names no repository; only repository (or project) events can trigger builds.`)
      }
      const rules = await verifiedRules(provider, event)
      if (event.kind === 'ping') return ignored('ping: the webhook reaches Slipway and its secret matches a trigger rule', 200)
      if (event.kind === 'other') return ignored(`'${printable(event.name)}' events start no builds; only pushes to branches and ${event.pullRequestName.replace('_', ' ')}s into them do`)

      const wanted = whatToBuild(event)
      if ('ignore' in wanted) return ignored(wanted.ignore)
      const { target, branch, eventName } = wanted
      const matched = rules.filter((rule) => rule.enabled && eventsOf(rule).includes(eventName) && branchMatches(rule.branches, branch))
      if (matched.length === 0) {
        const what = eventName === 'push' ? `pushes to branch '${printable(branch)}'` : `${eventName.replace('_', ' ')}s into branch '${printable(branch)}'`
        return ignored(`no enabled trigger rule of this repository builds ${what}`)
      }

      if (deliveryId === null) throw new TriggerDeliveryIdInvalid(event.deliveryHeader)
      const withLinks = (handled: HandledDelivery) => ({
        rules: handled.rules,
        builds: handled.builds.map((build) => ({ ...build, links: buildLinks(build.id) })),
        // Deliveries remembered before rules could be refused have none.
        refused: handled.refused ?? []
      })
      const seen = { provider, id: deliveryId, signers: rules.map((rule) => rule.id) }
      const claim = await ledger.claim(seen)
      if (claim.kind === 'handled') return answer(200, { status: 'duplicate', reason: 'this delivery was handled before; these are the builds it started', ...withLinks(claim.handled) })
      if (claim.kind === 'pending') throw new TriggerEventInProgress(deliveryId)
      try {
        const handled = await start(provider, deliveryId, matched, target)
        if (handled.builds.length === 0) {
          // Not remembered: once the rules may push (or the operator widens SLIPWAY_PUSH_ALLOW), or
          // their builds have ended, sending it again builds.
          await ledger.release(seen)
          const reason = 'every matching rule was refused: it may not push its image, or has its quota of builds queued or running; `refused` says why'
          return answer(202, { status: 'ignored', reason, refused: handled.refused })
        }
        await ledger.complete(seen, handled)
        return answer(202, { status: 'started', ...withLinks(handled) })
      } catch (error) {
        await ledger.release(seen).catch(() => undefined)
        throw error
      }
    }
  }
}

/**
 * What a push or pull (merge) request event asks to build, the branch rules are matched against
 * (the pushed one; the one a request goes into) and the event as rules name it; or why nothing.
 */
function whatToBuild (event: ProviderEvent): { target: BuildTarget; branch: string; eventName: TriggerEvent } | { ignore: string } {
  if (event.kind === 'pull_request') {
    const change = event.pullRequest()
    const name = event.pullRequestName.replace('_', ' ')
    if (!change.builds) return { ignore: `a ${name} '${printable(change.action)}' brings no new commit to build` }
    const { pullRequest, pusher } = change
    return { target: { commit: pullRequest.headSha, ref: change.ref, pullRequest, pusher }, branch: pullRequest.targetBranch, eventName: event.pullRequestName }
  }
  const push = event.push()
  const branch = branchOf(push.ref)
  if (branch === null) return { ignore: `'${printable(push.ref)}' is not a branch: only pushes to branches start builds (tag pushes do not)` }
  if (push.deleted) return { ignore: `branch '${printable(branch)}' was deleted` }
  return { target: { commit: push.after, ref: push.ref, pullRequest: null, pusher: push.pusher }, branch, eventName: 'push' }
}

export type TriggerService = ReturnType<typeof createTriggerService>
