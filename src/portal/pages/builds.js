import { BUILD_STATUSES, statusText } from '../../domain/build-status.js'
import { cachePercent, cacheText } from '../../domain/build-summary.js'
import { actorText, startedBy } from '../actor.js'
import { ApiError, buildRights, request, signedIn } from '../api.js'
import { errorBox, h, show, statusBadge } from '../dom.js'
import { ago, bytes, duration, shortCommit, source, time } from '../format.js'

/**
 * @import { BuildSummary } from '../../domain/schemas/build.js'
 * @import { PageContext } from '../app.js'
 * @import { Children } from '../dom.js'
 */

/** @typedef {{ items: BuildSummary[], nextCursor: string | null }} BuildList */

const REFRESH_MS = 3000
const LIMIT = 50
const FULL_COMMIT = /^[0-9a-f]{40}$/

/**
 * #/builds?repo=&status=: the newest builds, refreshed every few seconds while the page is open;
 * older ones a page at a time, on request. A refresh asks for the newest page, as summaries (what
 * the table shows, not a running build's steps), with the ETag of the last one: 304 while nothing
 * shown changed, however busy the builds are. It replaces only the rows whose build changed, so
 * focus, selection and scroll stay where the reader left them; a running build's duration ticks
 * from its start time between answers.
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
  const list = h('div', { id: 'builds', class: 'builds-scroll' }, h('p', { class: 'muted' }, 'Loading builds…'))
  const olderButton = h('button', { type: 'button', id: 'older-builds', hidden: true }, `Show ${LIMIT} older builds`)
  const olderProblem = h('div', { id: 'older-problem' })
  const allShown = h('p', { class: 'muted small', id: 'all-shown', hidden: true })
  const more = h('div', { id: 'builds-more' }, olderProblem, olderButton, allShown)
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
    more,
    updated
  )

  const params = new URLSearchParams({ limit: String(LIMIT), view: 'summary' })
  if (repo) params.set('repo', repo)
  if (status) params.set('status', status)
  const rows = buildRows()
  const seenRepos = new Set()
  /** @param {BuildSummary[]} items */
  const learnRepos = (items) => {
    for (const build of items) {
      if (build.request.repo && !seenRepos.has(build.request.repo)) {
        seenRepos.add(build.request.repo)
        knownRepos.append(h('option', { value: build.request.repo }))
      }
    }
  }
  // Whether builds older than the oldest shown exist: the newest page says so until an older
  // page has been asked for, then the last older page does.
  let olderLeft = false
  let pagedBack = false
  const showList = () => {
    if (rows.size() === 0) show(list, emptyState(Boolean(repo || status), rights))
    else if (list.firstElementChild !== rows.table) show(list, rows.table)
    rows.tick()
    olderButton.hidden = !olderLeft
    allShown.hidden = olderLeft || !pagedBack
    show(allShown, `All ${rows.size()} builds are shown.`)
  }

  /** @type {string | undefined} */
  let etag
  const refresh = async () => {
    try {
      const answer = await listIfChanged(`/v1/builds?${params}`, etag, signal)
      if (answer) {
        etag = answer.etag
        learnRepos(answer.page.items)
        rows.mergeNewest(answer.page)
        if (!pagedBack || answer.page.nextCursor === null) olderLeft = answer.page.nextCursor !== null
      }
      showList()
      show(updated, `Updated ${new Date().toLocaleTimeString()}; refreshes every ${REFRESH_MS / 1000} s.`)
    } catch (error) {
      if (signal.aborted) return
      etag = undefined
      show(list, errorBox(error, 'The builds could not be listed:'))
    }
  }
  // Busy rather than disabled while it loads: a disabled button would drop the keyboard focus.
  const loadOlder = async () => {
    if (olderButton.getAttribute('aria-busy') === 'true') return
    olderButton.setAttribute('aria-busy', 'true')
    try {
      const older = new URLSearchParams(params)
      older.set('cursor', rows.oldestId() ?? '')
      const answer = await listIfChanged(`/v1/builds?${older}`, undefined, signal)
      if (!answer) return
      learnRepos(answer.page.items)
      rows.add(answer.page.items)
      pagedBack = true
      olderLeft = answer.page.nextCursor !== null
      show(olderProblem)
      showList()
    } catch (error) {
      if (!signal.aborted) show(olderProblem, errorBox(error, 'The older builds could not be listed:'))
    } finally {
      olderButton.setAttribute('aria-busy', 'false')
    }
  }
  olderButton.addEventListener('click', () => { void loadOlder() })
  await refresh()
  const timer = setInterval(refresh, REFRESH_MS)
  signal.addEventListener('abort', () => clearInterval(timer))
}

/**
 * GET a list with If-None-Match: null when the API answers 304 (nothing changed since `etag`).
 * The API's client throws for any answer but 2xx; a 304 is the one that is no failure here.
 * @param {string} path
 * @param {string | undefined} etag
 * @param {AbortSignal} signal
 * @returns {Promise<{ page: BuildList, etag: string | undefined } | null>}
 */
async function listIfChanged (path, etag, signal) {
  try {
    const response = await request(path, { signal, headers: etag ? { 'if-none-match': etag } : {} })
    const page = /** @type {unknown} */ (await response.json())
    return { page: /** @type {BuildList} */ (page), etag: response.headers.get('etag') ?? undefined }
  } catch (error) {
    if (error instanceof ApiError && error.status === 304) return null
    throw error
  }
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

/**
 * @param {boolean} filtered
 * @param {{ write: boolean, why: string }} rights A token that may not start builds is not offered to.
 */
function emptyState (filtered, rights) {
  if (filtered) return h('p', { class: 'empty' }, 'No builds match these filters. ', h('a', { href: '#/builds' }, 'Clear filters'))
  return rights.write
    ? h('p', { class: 'empty' }, 'No builds yet. ', h('a', { href: '#/submit' }, 'Submit the first one'), ': give a git repository URL and Slipway builds its Dockerfile, pushes the image and shows where its bytes went.')
    : h('p', { class: 'empty' }, 'No builds yet. They show here as the tokens that may start builds submit them.')
}

/**
 * The builds as a table; also used by the repository page.
 * @param {BuildSummary[]} builds
 * @returns {HTMLTableElement}
 */
export function buildsTable (builds) {
  const rows = buildRows()
  rows.add(builds)
  rows.tick()
  return rows.table
}

const COLUMNS = ['Status', 'Source', 'Ref', 'Commit', 'Image', 'Started by', 'Duration', 'Size', 'Cache', 'Submitted']

/**
 * A table of builds kept in step with the API's answers, a row per build id, newest first. A row
 * is made again only when what it shows changed: each row's markup is kept and compared, with the
 * parts that change by the clock alone (relative times, a running build's duration) left empty
 * until tick() fills them.
 */
function buildRows () {
  const tbody = h('tbody', {})
  const table = h('table', { class: 'builds' }, h('thead', {}, h('tr', {}, COLUMNS.map((title) => h('th', { scope: 'col' }, title)))), tbody)
  /** @type {Map<string, { row: HTMLTableRowElement, markup: string }>} */
  const shown = new Map()

  /** @param {BuildSummary} build */
  const put = (build) => {
    const row = buildRow(build)
    const markup = row.outerHTML
    const before = shown.get(build.id)
    if (before?.markup === markup) return
    if (before) replaceKeepingFocus(before.row, row)
    shown.set(build.id, { row, markup })
  }
  // Rows already in place stay put (moving a node would take the focus from it); new ones are
  // inserted where their id sorts.
  const order = () => {
    let next = tbody.firstElementChild
    for (const id of [...shown.keys()].sort().reverse()) {
      const { row } = /** @type {{ row: HTMLTableRowElement }} */ (shown.get(id))
      if (row === next) next = row.nextElementSibling
      else tbody.insertBefore(row, next)
    }
  }
  /** @param {BuildSummary[]} builds */
  const add = (builds) => {
    for (const build of builds) put(build)
    order()
  }
  return {
    table,
    add,
    size: () => shown.size,
    /** @returns {string | undefined} */
    oldestId: () => [...shown.keys()].sort()[0],
    /**
     * The newest page, as the API answers it now: a build shown within the span it covers but
     * not on it has left the filter (or expired), and its row goes.
     * @param {BuildList} page
     */
    mergeNewest: (page) => {
      const onPage = new Set(page.items.map((build) => build.id))
      const covered = page.nextCursor === null ? '' : (page.items.at(-1)?.id ?? '')
      for (const [id, { row }] of shown) {
        if (id >= covered && !onPage.has(id)) {
          row.remove()
          shown.delete(id)
        }
      }
      add(page.items)
    },
    /** Brings what changes by the clock alone up to now. */
    tick: () => {
      const now = Date.now()
      for (const element of table.querySelectorAll('time[data-ago]')) element.textContent = ago(element.getAttribute('datetime') ?? '', now)
      for (const element of table.querySelectorAll('[data-running-since]')) element.textContent = duration(now - Date.parse(element.getAttribute('data-running-since') ?? ''))
    }
  }
}

/**
 * Puts `replacement` where `row` is; when the focus was on a link or button of the row, it moves
 * to the same one of the new row, so a keyboard user is not thrown back to the top of the page.
 * @param {HTMLTableRowElement} row
 * @param {HTMLTableRowElement} replacement
 */
function replaceKeepingFocus (row, replacement) {
  const focusable = [...row.querySelectorAll('a, button')]
  const focused = focusable.findIndex((element) => element === document.activeElement)
  row.replaceWith(replacement)
  if (focused !== -1) /** @type {HTMLElement | undefined} */ (replacement.querySelectorAll('a, button')[focused])?.focus()
}

/**
 * @param {BuildSummary} build
 * @returns {HTMLTableRowElement}
 */
function buildRow (build) {
  const { request } = build
  return h(
    'tr',
    { 'data-build': build.id },
    h('td', {}, h('a', { href: `#/builds/${build.id}`, title: `Build ${build.id}${build.ranOn?.engine ? `, ran on ${build.ranOn.engine.name}` : ''}` }, statusBadge(build.status))),
    h(
      'td',
      { class: 'source' },
      request.repo
        ? h('a', { class: 'clip', href: `#/repos/${encodeURIComponent(request.repo)}`, title: request.repo }, request.repo.replace(/^https:\/\//, '').replace(/\.git$/, ''))
        : h('span', { class: 'upload', title: request.source ? `sha256:${request.source.sha256}` : '' }, source(build)),
      dockerfileNote(request)
    ),
    h('td', { class: 'ref' }, refCell(build)),
    h('td', { class: 'commit' }, build.commit ? h('code', { title: build.commit }, shortCommit(build.commit)) : '–'),
    h('td', { class: 'image' }, imageCell(build)),
    h('td', { class: 'started-by', title: build.createdBy ? actorTitle(build) : null }, startedBy(build, { shortIds: true })),
    h('td', { class: 'num duration' }, build.durationMs === null && build.startedAt ? h('span', { 'data-running-since': build.startedAt }) : duration(build.durationMs)),
    h('td', { class: 'num' }, bytes(build.image?.sizeBytes)),
    h('td', { class: 'num cache-rate' }, cacheRate(build)),
    h('td', { class: 'submitted' }, h('a', { href: `#/builds/${build.id}` }, h('time', { datetime: build.createdAt, title: time(build.createdAt), 'data-ago': '' })))
  )
}

/**
 * The ref as asked for: a branch or tag by its name, a commit by its start (never 40 characters
 * breaking the row), the default branch by its resolved name on hover; nothing for an upload.
 * @param {BuildSummary} build
 * @returns {Children}
 */
function refCell (build) {
  const { ref, repo } = build.request
  if (repo === null) return '–'
  if (ref === null) return h('span', { class: 'muted', title: build.resolvedRef ?? '' }, 'default branch')
  if (FULL_COMMIT.test(ref)) return h('code', { title: ref }, shortCommit(ref))
  return h('span', { class: 'clip', title: ref }, ref)
}

/**
 * The image by its last path part and first tag, "app:3f2a9c1d0b7e", its full references on hover:
 * as built once the build has an image, else as asked (the tag a commit or upload will give it
 * once known).
 * @param {BuildSummary} build
 * @returns {Children}
 */
function imageCell (build) {
  const { request } = build
  const defaultTag = (build.commit ?? request.source?.sha256)?.slice(0, 12)
  const references = build.image?.tags.length ? build.image.tags : (request.tags ?? (defaultTag ? [defaultTag] : [])).map((tag) => `${request.image}:${tag}`)
  const [first] = references
  const named = (first ?? request.image).split('/').at(-1)
  return [
    h('code', { class: 'clip', title: references.join('\n') || request.image }, named),
    references.length > 1 ? h('span', { class: 'muted small' }, ` +${references.length - 1}`) : null
  ]
}

/**
 * The ids behind the words of "Started by", for whoever needs to look them up (the audit log).
 * @param {BuildSummary} build
 */
function actorTitle (build) {
  const actor = /** @type {NonNullable<BuildSummary['createdBy']>} */ (build.createdBy)
  const delivery = actor.deliveryId ? `, delivery ${actor.deliveryId}` : ''
  return `${actorText(actor)} (id ${actor.id}${delivery})`
}

/**
 * The share of the build's steps that came from the layer cache, "56% cached", with the first
 * miss and its reason as the tooltip; a dash before the build phase has ended or without steps.
 * @param {BuildSummary} build
 * @returns {Children}
 */
function cacheRate (build) {
  const percent = build.cache ? cachePercent(build.cache) : null
  if (percent === null) return '–'
  return h('span', { title: cacheText(build) ?? '' }, `${percent} cached`)
}

/**
 * Which Dockerfile and target, when not the plain `Dockerfile`: what tells builds of one commit apart.
 * @param {BuildSummary['request']} request
 */
function dockerfileNote (request) {
  const parts = [request.dockerfile === 'Dockerfile' ? null : request.dockerfile, request.target ? `target ${request.target}` : null].filter(Boolean)
  return parts.length > 0 ? h('div', { class: 'muted' }, parts.join(' · ')) : null
}
