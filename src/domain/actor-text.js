// Who did something, as a person reads it, from the audit information the API records
// (createdBy, canceledBy): the portal's list and build page, and the CLI, say the same words.
// Plain JavaScript for the browser as format.js is (it says why).

/** @import { Actor, PullRequest } from './schemas/audit.js' */

/**
 * "token ci-main", "the admin token", "trigger rule web-main", "operator ops@build-1".
 * @param {Actor} actor
 * @returns {string}
 */
export function actorText (actor) {
  if (actor.kind === 'token') return actor.id === 'admin' ? 'the admin token' : `token ${actor.name ?? actor.id}`
  if (actor.kind === 'trigger') return `trigger rule ${actor.name ?? actor.id}`
  return `operator ${actor.name ?? actor.id}`
}

/**
 * A trigger rule with the event it acted on and who the event says pushed, "push to main by alice
 * (trigger rule web-main)", "pull request #7 feature → main from a fork by bob (trigger rule
 * prs)"; anyone else as actorText says. The pusher is as the event says it, and only ever a plain
 * name (src/domain/triggers/forge-user.ts); a page puts this in as text all the same.
 * @param {Actor} actor
 * @returns {string}
 */
export function actorWithEvent (actor) {
  if (actor.kind !== 'trigger') return actorText(actor)
  const event = actor.pullRequest ? pullRequestText(actor.pullRequest, actor.ref) : actor.ref ? pushText(actor.ref) : null
  if (!event) return actorText(actor)
  return `${event}${actor.pusher ? ` by ${actor.pusher}` : ''} (${actorText(actor)})`
}

/**
 * "push to main", "push of tag v1.2"; another ref as it is.
 * @param {string} ref
 */
function pushText (ref) {
  if (ref.startsWith('refs/heads/')) return `push to ${ref.slice('refs/heads/'.length)}`
  if (ref.startsWith('refs/tags/')) return `push of tag ${ref.slice('refs/tags/'.length)}`
  return `push to ${ref}`
}

/**
 * "pull request #7 feature → main" (GitHub), "merge request !7 …" (GitLab, by its ref), "from a fork".
 * @param {PullRequest} pr
 * @param {string | undefined} ref
 */
function pullRequestText (pr, ref) {
  const name = ref?.startsWith('refs/merge-requests/') ? `merge request !${pr.number}` : `pull request #${pr.number}`
  return `${name} ${pr.sourceBranch} → ${pr.targetBranch}${pr.fork ? ' from a fork' : ''}`
}
