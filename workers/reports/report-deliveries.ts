import { isTerminal } from '../../src/domain/build-status.js'
import type { Config } from '../../src/domain/config.js'
import { commentMarker, commitStatus, portalLink, pullRequestComment, type Baseline } from '../../src/domain/reports/report-text.js'
import type { Build, BuildRecord, Report } from '../../src/domain/schemas/build.js'
import { mayUse } from '../../src/domain/secrets/secret-access.js'
import { branchOf } from '../../src/domain/triggers/branch-match.js'
import type { BuildStore } from '../../src/storage/build-store.js'
import type { DeliveryStore, DeliveryTarget, StoredDelivery } from '../../src/storage/delivery-store.js'
import type { ReportComments } from '../../src/storage/report-comments.js'
import { secretUserOf, type SecretStore } from '../../src/storage/secrets.js'
import type { TriggerStore } from '../../src/storage/trigger-store.js'
import { postCommitStatus, upsertComment, type CommitStatus, type ForgeResult, type ForgeTarget } from './forge-client.js'

// A build with a `report` tells its forge how it goes: the commit's status at each event, and at
// its end, for a pull (merge) request's build, the one comment Slipway keeps on the request. Both
// are deliveries like a webhook's: made when the event happens (their bodies fixed then), sent
// and retried by the webhook worker, every attempt recorded. The forge token is read only as a
// delivery is sent, from the secret the report names, and is never part of a delivery.

const TIMEOUT_MS = 10_000

/** What a report delivery sends, fixed when its event happened. */
type ReportBody = { status: CommitStatus } | { comment: { number: number; marker: string; body: string } }

export interface ReportDelivery {
  target: Extract<DeliveryTarget, { kind: 'report' }>
  /** Tells this delivery apart from the event's others, in its id. */
  key: string
  url: string
  body: string
}

export interface ReportNeeds {
  builds: Pick<BuildStore, 'get' | 'list'>
  deliveries: Pick<DeliveryStore, 'listForBuild'>
  triggers: Pick<TriggerStore, 'get'>
  reportComments: ReportComments
  /** Null on a worker without SLIPWAY_SECRETS_KEY: no report can be sent. */
  secrets: Pick<SecretStore, 'reveal'> | null
  config: Pick<Config, 'publicUrl' | 'githubApiUrl' | 'gitlabApiUrl'>
}

/** How sending a report went: an answer (or none) from the forge, or why it was not sent at all. */
export type ReportOutcome = { result: ForgeResult } | { abandon: string }

const apiUrlOf = (report: Report, config: ReportNeeds['config']) => (report.provider === 'github' ? config.githubApiUrl : config.gitlabApiUrl)

/**
 * The report deliveries an event of a build makes: the commit's status, and once the build has
 * ended, the pull request's comment. None without a report, or before the commit is known (a
 * build of a branch name learns it as it clones; its final status still goes).
 */
export async function reportDeliveries (build: Build, needs: Pick<ReportNeeds, 'builds' | 'config'>): Promise<ReportDelivery[]> {
  const report = build.request.report
  const sha = build.commit ?? (build.request.ref !== null && /^[0-9a-f]{40}$/.test(build.request.ref) ? build.request.ref : null)
  if (!report || sha === null) return []
  const ended = isTerminal(build.status)
  const baseline = ended ? await baselineOf(build, needs.builds) : null
  const { publicUrl } = needs.config
  const url = apiUrlOf(report, needs.config)
  const status: CommitStatus = { sha, ...commitStatus(build, baseline), context: report.context, targetUrl: portalLink(publicUrl, build.id), ref: gitLabRef(build) }
  const deliveries: ReportDelivery[] = [{ target: { kind: 'report', what: 'status' }, key: 'status', url, body: JSON.stringify({ status }) }]
  const pullRequest = build.createdBy?.pullRequest
  if (ended && pullRequest) {
    const body = pullRequestComment({ build, baseline, context: report.context, publicUrl, pullRequest })
    const comment = { number: pullRequest.number, marker: commentMarker(report.context), body }
    deliveries.push({ target: { kind: 'report', what: 'comment' }, key: 'comment', url, body: JSON.stringify({ comment }) })
  }
  return deliveries
}

/**
 * The ref GitLab files a status under. Without one it takes the first branch holding the commit,
 * and a merge request from a fork has none in the project: its head is under
 * refs/merge-requests/<iid>/head there, as its own pipelines are. A request from a branch of the
 * project reports on that branch; a push, on the pushed branch.
 */
function gitLabRef (build: Build): string | null {
  const actor = build.createdBy
  if (actor?.pullRequest) return actor.pullRequest.fork ? (actor.ref ?? null) : actor.pullRequest.sourceBranch
  return branchOf(build.resolvedRef ?? actor?.ref ?? '')
}

/**
 * What a build's size is compared with: the latest succeeded build of the branch a pull request
 * goes into, or for a build of a branch the one before it on that branch, with the same Dockerfile
 * and target.
 */
async function baselineOf (build: BuildRecord, builds: Pick<BuildStore, 'list'>): Promise<Baseline | null> {
  const pullRequest = build.createdBy?.pullRequest
  const branch = pullRequest ? pullRequest.targetBranch : branchOf(build.resolvedRef ?? '')
  if (branch === null || build.request.repo === null) return null
  const { items } = await builds.list({ repo: build.request.repo, status: 'succeeded', limit: 50 })
  const found = items.find(
    (earlier) =>
      earlier.id !== build.id &&
      (pullRequest !== undefined || earlier.id < build.id) &&
      earlier.image !== null &&
      earlier.request.variants.length === 0 &&
      earlier.resolvedRef === `refs/heads/${branch}` &&
      earlier.request.dockerfile === build.request.dockerfile &&
      earlier.request.target === build.request.target
  )
  return found ? { build: found, branch } : null
}

/** Sends one report delivery: its forge token read now, a status only if no later one was set, a comment only if no newer build wrote it. */
export async function sendReport (delivery: StoredDelivery, needs: ReportNeeds): Promise<ReportOutcome> {
  const build = await needs.builds.get(delivery.buildId)
  const report = build?.request.report
  if (!build || !report) return { abandon: 'the build is gone' }
  const body = JSON.parse(delivery.body) as ReportBody
  if ('status' in body && (await laterStatusSet(delivery, needs.deliveries))) return { abandon: 'a later status of this build was set already' }
  const token = await forgeToken(build, report, needs)
  if (typeof token !== 'string') return token
  const target: ForgeTarget = { provider: report.provider, apiUrl: apiUrlOf(report, needs.config), repo: report.repo, token }
  if ('status' in body) return { result: await postCommitStatus(target, body.status, { timeoutMs: TIMEOUT_MS }) }
  return writeComment(build, target, report, body.comment, needs.reportComments)
}

/** Whether a status of a later event of the build reached the forge: this older one would replace it. */
async function laterStatusSet (delivery: StoredDelivery, deliveries: ReportNeeds['deliveries']): Promise<boolean> {
  const { items } = await deliveries.listForBuild(delivery.buildId, undefined, 100)
  return items.some((other) => other.target.kind === 'report' && other.target.what === 'status' && other.sequence > delivery.sequence && other.status === 'delivered')
}

/**
 * The forge token, from the secret the report names, checked as the build's secrets are: it must
 * still allow the build's repository and token (or the trigger rule's author).
 */
async function forgeToken (build: BuildRecord, report: Report, needs: Pick<ReportNeeds, 'secrets' | 'triggers'>): Promise<string | { abandon: string } | { result: ForgeResult }> {
  if (!needs.secrets) return { abandon: 'this worker has no SLIPWAY_SECRETS_KEY, so it cannot open the secret holding the forge token' }
  let revealed
  try {
    revealed = await needs.secrets.reveal(report.token)
  } catch (error) {
    // A key rotated without the old one kept: an operator can mend it, so it is tried again.
    return { result: { statusCode: null, durationMs: 0, error: `the secret '${report.token}' could not be opened: ${(error as Error).message}`, response: null } }
  }
  const user = await secretUserOf(needs.triggers, build)
  if (!revealed || !mayUse(revealed.scope, 'secret', user)) {
    return { abandon: `the secret '${report.token}' is gone, or no longer allows this repository and token` }
  }
  return revealed.value.toString('utf8').trim()
}

/**
 * Writes the pull request's comment: under a lock, so two builds' deliveries never both create
 * one, and only if no newer build of the request has written its results there already.
 */
async function writeComment (
  build: BuildRecord,
  target: ForgeTarget,
  report: Report,
  comment: { number: number; marker: string; body: string },
  comments: ReportComments
): Promise<ReportOutcome> {
  const place = { provider: report.provider, repo: report.repo, number: comment.number, context: report.context }
  const unlock = await comments.lock(place)
  if (!unlock) return { result: { statusCode: null, durationMs: 0, error: "another build's delivery is writing this comment; tried again later", response: null } }
  try {
    const kept = await comments.get(place)
    if (kept && kept.buildId > build.id) return { abandon: `build ${kept.buildId}, newer, has written its results in the comment` }
    const result = await upsertComment(target, { ...comment, knownId: kept?.commentId ?? null }, { timeoutMs: TIMEOUT_MS })
    if (result.commentId !== null) await comments.set(place, { commentId: result.commentId, buildId: build.id })
    const { commentId: _commentId, ...attempt } = result
    return { result: attempt }
  } finally {
    await unlock()
  }
}
