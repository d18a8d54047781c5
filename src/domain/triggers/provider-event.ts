import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { BodyInvalid } from '../errors.js'
import type { PullRequest } from '../schemas/audit.js'
import type { TriggerEvent, TriggerProvider } from '../schemas/trigger.js'
import { verifyGitHubSignature, verifyGitLabToken } from './event-signature.js'
import { forgeUserOf, type FieldPath } from './forge-user.js'

/** An event as it arrived: the headers that matter and the body's exact bytes (what GitHub signs). */
export interface EventDelivery {
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/** How one provider names, identifies, signs and shapes its events (headers as its documentation spells them). Only the fields Slipway reads. */
interface Provider {
  eventHeader: string
  /** Headers that identify a delivery and stay the same when it is sent again; the first present wins. */
  deliveryHeaders: string[]
  credentialHeader: string
  pushEvent: string
  pingEvent: string | null
  /** The event a pull (merge) request sends, what rules call it, and how to read it. */
  pullRequestEvent: string
  pullRequestName: Exclude<TriggerEvent, 'push'>
  readPullRequest(payload: unknown): Omit<PullRequestChange, 'pusher'>
  /** Where a push, and a pull (merge) request event, name the account that pushed or opened or updated it; the first present is read. */
  pusherFields: { push: FieldPath[]; pullRequest: FieldPath[] }
  /** Where the payload names its repository, in every spelling it gives. */
  repository: { object: string; urls: string[] }
  verify(credential: string, body: Buffer, secrets: readonly string[]): boolean
}

const PROVIDERS: Record<TriggerProvider, Provider> = {
  github: {
    eventHeader: 'X-GitHub-Event',
    deliveryHeaders: ['X-GitHub-Delivery'],
    credentialHeader: 'X-Hub-Signature-256',
    pushEvent: 'push',
    pingEvent: 'ping',
    pullRequestEvent: 'pull_request',
    pullRequestName: 'pull_request',
    readPullRequest: readGitHubPullRequest,
    // pusher.name is the pusher's login too, in payloads without a sender.
    pusherFields: { push: [['sender', 'login'], ['pusher', 'name']], pullRequest: [['sender', 'login']] },
    repository: { object: 'repository', urls: ['clone_url', 'ssh_url', 'html_url'] },
    verify: verifyGitHubSignature
  },
  gitlab: {
    eventHeader: 'X-Gitlab-Event',
    // Idempotency-Key (GitLab 17.4+) is kept across GitLab's retries; X-Gitlab-Event-UUID names the event.
    deliveryHeaders: ['Idempotency-Key', 'X-Gitlab-Event-UUID'],
    credentialHeader: 'X-Gitlab-Token',
    pushEvent: 'Push Hook',
    pingEvent: null,
    pullRequestEvent: 'Merge Request Hook',
    pullRequestName: 'merge_request',
    readPullRequest: readGitLabMergeRequest,
    pusherFields: { push: [['user_username'], ['user_name']], pullRequest: [['user', 'username']] },
    repository: { object: 'project', urls: ['git_http_url', 'git_ssh_url', 'web_url'] },
    verify: (credential, _body, secrets) => verifyGitLabToken(credential, secrets)
  }
}

// The parts of a push event Slipway reads; GitHub and GitLab agree on these.
const PushPayload = Type.Object({
  ref: Type.String({ maxLength: 1024 }),
  after: Type.String({ pattern: '^([0-9a-f]{40}|[0-9a-f]{64})$' }),
  deleted: Type.Optional(Type.Boolean())
})

export interface Push {
  ref: string
  /** The pushed commit. */
  after: string
  /** A branch deleted: nothing to build. */
  deleted: boolean
  /** The forge account the event says pushed, as it says it; null when it names none, or none plain (forge-user.ts). */
  pusher: string | null
}

/**
 * What a pull (merge) request event says: the request, and whether its action brings a head
 * commit to build (`builds`) or not (a close, a label, an edit of the title), named in `action`.
 */
export interface PullRequestChange {
  action: string
  builds: boolean
  pullRequest: PullRequest
  /** Where the forge keeps its head in the target repository: refs/pull/<n>/head, refs/merge-requests/<n>/head. */
  ref: string
  /** The forge account the event says opened or updated the request, as Push's `pusher`. */
  pusher: string | null
}

const Sha = Type.String({ pattern: '^([0-9a-f]{40}|[0-9a-f]{64})$' })
const BranchName = Type.String({ minLength: 1, maxLength: 255 })
const ForgeRepo = Type.Object({ id: Type.Optional(Type.Integer()), full_name: Type.Optional(Type.String()) })

// GitHub's pull_request event: the parts Slipway reads.
const GitHubPullRequestPayload = Type.Object({
  action: Type.String({ maxLength: 100 }),
  number: Type.Integer({ minimum: 1 }),
  pull_request: Type.Object({
    head: Type.Object({ sha: Sha, ref: BranchName, repo: Type.Union([ForgeRepo, Type.Null()]) }),
    base: Type.Object({ ref: BranchName, repo: ForgeRepo })
  })
})

/** Opened, synchronize (new commits) and reopened bring a head commit; every other action does not. */
function readGitHubPullRequest (payload: unknown): Omit<PullRequestChange, 'pusher'> {
  if (!Value.Check(GitHubPullRequestPayload, payload)) throw pullRequestInvalid('pull_request', '`number` and `pull_request` with `head` (sha, ref, repo) and `base` (ref, repo)')
  const { head, base } = payload.pull_request
  // A fork deleted since has no head repository: still a fork.
  const fork = head.repo === null || !sameForgeRepo(head.repo, base.repo)
  return {
    action: payload.action,
    builds: ['opened', 'synchronize', 'reopened'].includes(payload.action),
    pullRequest: { number: payload.number, headSha: head.sha, sourceBranch: head.ref, targetBranch: base.ref, fork },
    ref: `refs/pull/${payload.number}/head`
  }
}

const sameForgeRepo = (a: Static<typeof ForgeRepo>, b: Static<typeof ForgeRepo>) =>
  a.id !== undefined && b.id !== undefined ? a.id === b.id : a.full_name !== undefined && a.full_name === b.full_name

// GitLab's Merge Request Hook: the parts Slipway reads.
const GitLabMergeRequestPayload = Type.Object({
  object_attributes: Type.Object({
    iid: Type.Integer({ minimum: 1 }),
    action: Type.Optional(Type.String({ maxLength: 100 })),
    source_branch: BranchName,
    target_branch: BranchName,
    source_project_id: Type.Integer(),
    target_project_id: Type.Integer(),
    last_commit: Type.Object({ id: Sha }),
    oldrev: Type.Optional(Sha)
  })
})

/** Open and reopen bring a head commit, and an update does when it brought commits (GitLab then sends `oldrev`). */
function readGitLabMergeRequest (payload: unknown): Omit<PullRequestChange, 'pusher'> {
  if (!Value.Check(GitLabMergeRequestPayload, payload)) {
    throw pullRequestInvalid('Merge Request Hook', '`object_attributes` with iid, source_branch, target_branch, source_project_id, target_project_id and last_commit.id')
  }
  const attributes = payload.object_attributes
  const action = attributes.action ?? 'unknown'
  return {
    action,
    builds: action === 'open' || action === 'reopen' || (action === 'update' && attributes.oldrev !== undefined),
    pullRequest: {
      number: attributes.iid,
      headSha: attributes.last_commit.id,
      sourceBranch: attributes.source_branch,
      targetBranch: attributes.target_branch,
      fork: attributes.source_project_id !== attributes.target_project_id
    },
    ref: `refs/merge-requests/${attributes.iid}/head`
  }
}

const pullRequestInvalid = (event: string, fields: string) => new BodyInvalid(`The ${event} event lacks ${fields}; send the payload as the provider makes it.`)

/** What Slipway reads of an event, whichever provider sent it. */
export interface ProviderEvent {
  /** The event's name, as its header gave it ("push", "Push Hook", "ping", "issues", …). */
  name: string
  kind: 'push' | 'pull_request' | 'ping' | 'other'
  /** What rules call this provider's pull (merge) requests in `events`. */
  pullRequestName: Exclude<TriggerEvent, 'push'>
  /** Names the header(s) the delivery id comes from, for messages. */
  deliveryHeader: string
  deliveryId: string | undefined
  credentialHeader: string
  credential: string | undefined
  /** Every URL the payload gives for its repository; rules are found by their host and path. */
  repoUrls: string[]
  /** Checks the credential against secrets, in constant time per secret. */
  verify(secrets: readonly string[]): boolean
  /** The push the payload describes; BODY_INVALID when it lacks the fields a push has. */
  push(): Push
  /** The same for a pull (merge) request event. */
  pullRequest(): PullRequestChange
}

/** Reads an event's headers and payload. BODY_INVALID for a body that is not a JSON event. */
export function readEvent (provider: TriggerProvider, delivery: EventDelivery): ProviderEvent {
  const rules = PROVIDERS[provider]
  const header = (name: string) => {
    const value = delivery.headers[name.toLowerCase()]
    return Array.isArray(value) ? value[0] : value
  }
  const name = header(rules.eventHeader) ?? ''
  const payload = parsePayload(delivery.body, header('content-type') ?? '')
  const credential = header(rules.credentialHeader)
  return {
    name,
    kind: name === rules.pushEvent ? 'push' : name === rules.pullRequestEvent ? 'pull_request' : name === rules.pingEvent ? 'ping' : 'other',
    pullRequestName: rules.pullRequestName,
    deliveryHeader: rules.deliveryHeaders.join(' or '),
    deliveryId: rules.deliveryHeaders.map(header).find((value) => value !== undefined),
    credentialHeader: rules.credentialHeader,
    credential,
    repoUrls: repositoryUrls(payload, rules.repository),
    verify: (secrets) => credential !== undefined && rules.verify(credential, delivery.body, secrets),
    push () {
      if (!Value.Check(PushPayload, payload)) {
        throw new BodyInvalid('The push event lacks `ref` or `after` (a 40- or 64-hex commit id); send the payload as GitHub or GitLab makes it.')
      }
      const deleted = payload.deleted === true || /^0+$/.test(payload.after)
      return { ref: payload.ref, after: payload.after, deleted, pusher: forgeUserOf(payload, rules.pusherFields.push) }
    },
    pullRequest: () => ({ ...rules.readPullRequest(payload), pusher: forgeUserOf(payload, rules.pusherFields.pullRequest) })
  }
}

/** The payload: a JSON body, or GitHub's form encoding (payload=<JSON>) when its webhook is set to it. */
function parsePayload (body: Buffer, contentType: string): unknown {
  const text = body.toString('utf8')
  const json = contentType.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(text).get('payload') : text
  try {
    return JSON.parse(json ?? '')
  } catch {
    throw new BodyInvalid('The event body is not JSON (nor a form with a JSON `payload` field); send it as GitHub or GitLab makes it.')
  }
}

function repositoryUrls (payload: unknown, where: Provider['repository']): string[] {
  const repository = (payload as Record<string, unknown> | null)?.[where.object]
  if (typeof repository !== 'object' || repository === null) return []
  return where.urls.flatMap((field) => {
    const url = (repository as Record<string, unknown>)[field]
    return typeof url === 'string' && url.length > 0 && url.length <= 2048 ? [url] : []
  })
}
