import { Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { BodyInvalid } from '../errors.js'
import type { TriggerProvider } from '../schemas/trigger.js'
import { verifyGitHubSignature, verifyGitLabToken } from './event-signature.js'

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
}

/** What Slipway reads of an event, whichever provider sent it. */
export interface ProviderEvent {
  /** The event's name, as its header gave it ("push", "Push Hook", "ping", "issues", …). */
  name: string
  kind: 'push' | 'ping' | 'other'
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
    kind: name === rules.pushEvent ? 'push' : name === rules.pingEvent ? 'ping' : 'other',
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
      return { ref: payload.ref, after: payload.after, deleted: payload.deleted === true || /^0+$/.test(payload.after) }
    }
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
