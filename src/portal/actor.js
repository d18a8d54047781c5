// Who did something, as a person reads it, from the audit information the API records
// (createdBy, canceledBy): the list and the build page say the same words.

import { h } from './dom.js'

/**
 * @import { Actor, PullRequest } from '../domain/schemas/audit.js'
 * @import { Build } from '../domain/schemas/build.js'
 * @import { Children } from './dom.js'
 */

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
 * What started a build: "token ci-main", "push to main by alice (trigger rule web-main)", "pull
 * request #7 feature → main by bob (trigger rule prs)", "retry of <link> by token ops"; "not
 * recorded" for a build made before Slipway recorded who asked.
 * @param {Pick<Build, 'createdBy' | 'retryOf'>} build
 * @param {{ shortIds?: boolean }} [options] shortIds: the retried build by the end of its id, "…ZN9JPR"
 *   (a ULID's start is its time, alike in builds of one day), the whole id on hover: for a table.
 * @returns {Children}
 */
export function startedBy (build, { shortIds = false } = {}) {
  const who = build.createdBy ? actorWithEvent(build.createdBy) : null
  if (build.retryOf) {
    const link = h('a', { href: `#/builds/${build.retryOf}`, class: 'build-id', title: `Build ${build.retryOf}` }, shortIds ? `…${build.retryOf.slice(-6)}` : build.retryOf)
    return ['retry of ', link, who ? ` by ${who}` : '']
  }
  return who ?? h('span', { class: 'muted', title: 'Made before Slipway recorded who started builds' }, 'not recorded')
}

/**
 * A trigger rule with the event it acted on and who the event says pushed (as the event says it,
 * a plain name: see src/domain/triggers/forge-user.ts); anyone else as actorText says. A string,
 * put in the page as text.
 * @param {Actor} actor
 * @returns {string}
 */
function actorWithEvent (actor) {
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
