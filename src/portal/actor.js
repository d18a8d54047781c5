// What started a build, on the page: the words are src/domain/actor-text.js's, shared with the CLI.

import { actorWithEvent } from '../domain/actor-text.js'
import { h } from './dom.js'

export { actorText } from '../domain/actor-text.js'

/**
 * @import { Build } from '../domain/schemas/build.js'
 * @import { Children } from './dom.js'
 */

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
