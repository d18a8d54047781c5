import { BUILD_STATUSES, statusText } from '../../domain/build-status.js'
import { cachePercent, cacheText } from '../../domain/build-summary.js'
import { buildRights, json, signedIn } from '../api.js'
import { errorBox, h, show, statusBadge } from '../dom.js'
import { buildDuration, bytes, duration, shortCommit, source, time } from '../format.js'

/**
 * @import { Build, NormalizedRequest } from '../../domain/schemas/build.js'
 * @import { PageContext } from '../app.js'
 * @import { Children } from '../dom.js'
 */

/** @typedef {{ items: Build[], nextCursor: string | null }} BuildList */

const REFRESH_MS = 3000
const LIMIT = 50

/**
 * #/builds?repo=&status=: the newest builds, refreshed every few seconds while the page is open.
 * @param {HTMLElement} main
 * @param {PageContext} context
 */
export async function buildsPage (main, { query, signal }) {
  const repo = query.get('repo') ?? ''
  const status = query.get('status') ?? ''
  const repoInput = h('input', { id: 'filter-repo', name: 'repo', type: 'search', value: repo, list: 'known-repos', placeholder: 'any repository', size: 50 })
  const knownRepos = h('datalist', { id: 'known-repos' })
  const statusSelect = h('select', { id: 'filter-status', name: 'status' }, h('option', { value: '' }, 'any status'), BUILD_STATUSES.map((s) => h('option', { value: s, selected: s === status }, statusText(s))))
  /** @param {Event} [event] */
  const applyFilters = (event) => {
    event?.preventDefault()
    const next = new URLSearchParams()
    if (repoInput.value.trim()) next.set('repo', repoInput.value.trim())
    if (statusSelect.value) next.set('status', statusSelect.value)
    location.hash = `#/builds${next.size ? `?${next}` : ''}`
  }
  statusSelect.addEventListener('change', applyFilters)
  const list = h('div', { id: 'builds', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading builds…'))
  const updated = h('p', { class: 'muted small', id: 'builds-updated' })
  const rights = buildRights(await signedIn())

  show(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Builds'), newBuildButton(rights)),
    h(
      'form',
      { class: 'filters', onsubmit: applyFilters },
      h('label', { for: 'filter-repo' }, 'Repository'),
      repoInput,
      knownRepos,
      h('label', { for: 'filter-status' }, 'Status'),
      statusSelect,
      h('button', { type: 'submit' }, 'Filter'),
      repo || status ? h('a', { href: '#/builds' }, 'Clear filters') : null
    ),
    h('p', { class: 'help' }, 'The repository filter takes the URL exactly as it was submitted. Click a build to see its log, steps and image; click a repository to see its image size over time.'),
    list,
    updated
  )

  const params = new URLSearchParams({ limit: String(LIMIT) })
  if (repo) params.set('repo', repo)
  if (status) params.set('status', status)
  const seenRepos = new Set()
  const refresh = async () => {
    try {
      const { items, nextCursor } = /** @type {BuildList} */ (await json(`/v1/builds?${params}`, { signal }))
      for (const build of items) {
        if (build.request.repo && !seenRepos.has(build.request.repo)) {
          seenRepos.add(build.request.repo)
          knownRepos.append(h('option', { value: build.request.repo }))
        }
      }
      show(list, items.length ? buildsTable(items) : emptyState(Boolean(repo || status)), nextCursor ? h('p', { class: 'muted small' }, `Showing the newest ${LIMIT}; filter to find older builds.`) : null)
      show(updated, `Updated ${new Date().toLocaleTimeString()}; refreshes every ${REFRESH_MS / 1000} s.`)
    } catch (error) {
      if (!signal.aborted) show(list, errorBox(error, 'The builds could not be listed:'))
    }
  }
  await refresh()
  const timer = setInterval(refresh, REFRESH_MS)
  signal.addEventListener('abort', () => clearInterval(timer))
}

/**
 * New build, for a token that may start builds; for another, disabled, its reason on hover and
 * beside it, where a keyboard or a screen reader finds it too.
 * @param {{ write: boolean, why: string }} rights
 * @returns {Children}
 */
export function newBuildButton (rights) {
  if (rights.write) return h('a', { class: 'button', id: 'new-build', href: '#/submit' }, 'New build')
  return [
    h('button', { type: 'button', id: 'new-build', disabled: true, title: rights.why, 'aria-describedby': 'new-build-why' }, 'New build'),
    h('span', { id: 'new-build-why', class: 'muted small' }, `${rights.why}.`)
  ]
}

/** @param {boolean} filtered */
function emptyState (filtered) {
  return filtered
    ? h('p', { class: 'empty' }, 'No builds match these filters. ', h('a', { href: '#/builds' }, 'Clear filters'))
    : h('p', { class: 'empty' }, 'No builds yet. ', h('a', { href: '#/submit' }, 'Submit the first one'), ': give a git repository URL and Slipway builds its Dockerfile, pushes the image and shows where its bytes went.')
}

/**
 * The builds as a table; also used by the repository page.
 * @param {Build[]} builds
 * @returns {HTMLTableElement}
 */
export function buildsTable (builds) {
  return h(
    'table',
    { class: 'builds' },
    h('thead', {}, h('tr', {}, ['Status', 'Repository', 'Ref', 'Commit', 'Duration', 'Size', 'Cache', 'Submitted'].map((title) => h('th', { scope: 'col' }, title)))),
    h(
      'tbody',
      {},
      builds.map((build) =>
        h(
          'tr',
          { 'data-build': build.id },
          h('td', {}, h('a', { href: `#/builds/${build.id}`, title: `Build ${build.id}${build.ranOn?.engine ? `, ran on ${build.ranOn.engine.name}` : ''}` }, statusBadge(build.status))),
          h(
            'td',
            { class: 'repo' },
            build.request.repo ? h('a', { href: `#/repos/${encodeURIComponent(build.request.repo)}` }, build.request.repo) : source(build),
            dockerfileNote(build.request)
          ),
          h('td', {}, build.request.repo === null ? '–' : (build.request.ref ?? h('span', { class: 'muted' }, 'default branch'))),
          h('td', {}, h('code', {}, shortCommit(build.commit))),
          h('td', { class: 'num' }, duration(buildDuration(build))),
          h('td', { class: 'num' }, bytes(build.image?.sizeBytes)),
          h('td', { class: 'num cache-rate' }, cacheRate(build)),
          h('td', {}, h('a', { href: `#/builds/${build.id}` }, time(build.createdAt)))
        )
      )
    )
  )
}

/**
 * The share of the build's steps that came from the layer cache, "56% cached", with the first
 * miss and its reason as the tooltip; a dash before the build phase has ended or without steps.
 * @param {Build} build
 * @returns {Children}
 */
function cacheRate (build) {
  const percent = build.cache ? cachePercent(build.cache) : null
  if (percent === null) return '–'
  return h('span', { title: cacheText(build) ?? '' }, `${percent} cached`)
}

/**
 * Which Dockerfile and target, when not the plain `Dockerfile`: what tells builds of one commit apart.
 * @param {NormalizedRequest} request
 */
function dockerfileNote (request) {
  const parts = [request.dockerfile === 'Dockerfile' ? null : request.dockerfile, request.target ? `target ${request.target}` : null].filter(Boolean)
  return parts.length > 0 ? h('div', { class: 'muted' }, parts.join(' · ')) : null
}
