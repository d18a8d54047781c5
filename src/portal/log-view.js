// A build's log as a reader works with it: each line numbered, with a link to it; timestamps on
// request; the lines of each Dockerfile step (and of each of Slipway's phases) folded under the
// step, the failing one open; search; the raw log as a download; and, while the build runs,
// following that never pulls the view from under a reader who scrolled up.
//
// A log may hold SLIPWAY_LOG_MAX_BYTES (16 MiB: some 200,000 lines), so the lines stay data: only
// the rows in sight (and a few around) are elements. Every row is one line high (long lines scroll
// sideways rather than wrap), which makes a row's place arithmetic.

import { request } from './api.js'
import { errorBox, h, show } from './dom.js'

/**
 * @import { Build } from '../domain/schemas/build.js'
 * @import { LogLine } from './api.js'
 */

/**
 * A run of lines under one header line: a Dockerfile step (BuildKit's "#5 [2/3] RUN make", which
 * also prefixes the step's own lines with "#5 ", or the classic builder's "Step 2/3 : RUN make",
 * whose lines follow it) or one of Slipway's phases ("==> build"). Lines before any header belong
 * to a group without one, always open.
 * @typedef {object} Group
 * @property {number | null} header The header's line index.
 * @property {number[]} lines The indices of the lines under it, ascending.
 * @property {boolean} open
 * @property {string} outcome What BuildKit said of the step at its end: "failed", "cached", "1.2s".
 * @property {boolean} failing
 */

/** A row: a group's header (line null), or a line of an open group. */
/** @typedef {{ group: number, line: number | null }} Row */

// Kept in step with `.log-row` in style.css.
const ROW_PX = 20
// Rows made beyond each edge of the view, so a scroll of a few lines shows no gap.
const OVERSCAN = 30
const TIMESTAMPS_KEY = 'slipway.log.timestamps'
const VERTEX_LINE = /^#(\d+) /
const VERTEX_OUTCOME = /^#\d+ (?:(ERROR): |(CACHED)$|DONE (\d+(?:\.\d+)?s)$)/
const CLASSIC_STEP = /^Step \d+\/\d+ : /
const SEARCH_DELAY_MS = 150

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3, hourCycle: 'h23' })

/**
 * The log view of build `id`. Lines go in with `add` as they arrive; `end` is called with the
 * ended build once the log is complete. `line` (1-based) is the line a link asked for: it is
 * opened, highlighted and scrolled to once it has arrived. `live`: the build is still running,
 * so the groups that start open as they do, and the view follows the newest line.
 * @param {string} id
 * @param {{ line: number | null, live: boolean, signal: AbortSignal }} options
 */
export function logView (id, { line, live, signal }) {
  /** @type {string[]} */
  const texts = []
  /** @type {number[]} */
  const times = []
  /** @type {string[]} */
  const streams = []
  /** The group of each line. @type {number[]} */
  const groupOf = []
  /** @type {Group[]} */
  const groups = []
  /** The open groups' first rows, refreshed when `layoutStale`. @type {number[]} */
  let rowStarts = []
  let totalRows = 0
  let layoutStale = true
  /** The group each BuildKit vertex number of the current phase started. @type {Map<string, number>} */
  let vertices = new Map()
  /** The group that lines without a vertex number join: the latest phase or classic step. @type {number | undefined} */
  let current
  let pendingRender = false
  let following = live
  /** The line a link or the search points at. @type {number | null} */
  let target = null
  let wanted = line === null ? null : line - 1

  const spacer = h('div', { class: 'log-spacer' })
  const rows = h('div', { class: 'log-rows' })
  spacer.append(rows)
  const log = h('div', { id: 'log', class: 'log', role: 'region', 'aria-label': 'Build log', tabindex: 0 }, spacer)
  const jump = h('button', { type: 'button', id: 'log-jump', class: 'log-jump', hidden: true }, 'Jump to latest ↓')
  const searchBox = logSearch()
  const timestamps = h('input', { type: 'checkbox', id: 'log-timestamps' })
  const downloadState = h('span', { id: 'log-download-state', class: 'small muted', role: 'status' })
  const download = h('button', { type: 'button', id: 'log-download', class: 'secondary' }, 'Download raw log')

  // --- The lines and their groups.

  /**
   * @param {number} header
   * @returns {number} The new group's index.
   */
  const startGroup = (header) => {
    groups.push({ header, lines: [], open: live, outcome: '', failing: false })
    groupOf[header] = groups.length - 1
    return groups.length - 1
  }
  /**
   * @param {number} group
   * @param {number} index
   */
  const join = (group, index) => {
    const joined = /** @type {Group} */ (groups[group])
    joined.lines.push(index)
    groupOf[index] = group
    if (joined.open || joined.header === null) layoutStale = true
  }

  /** @param {LogLine} entry */
  const add = (entry) => {
    const index = texts.push(entry.text) - 1
    times.push(entry.ts)
    streams.push(entry.stream)
    searchBox.offer(index)
    layoutStale = true
    const text = entry.text
    if (entry.stream === 'system' && text.startsWith('==> ')) {
      current = startGroup(index)
      // Each build of a phase (one per variant) numbers its vertices from 1.
      vertices = new Map()
    } else if (VERTEX_LINE.test(text)) {
      const number = /** @type {string} */ (VERTEX_LINE.exec(text)?.[1])
      const group = vertices.get(number)
      if (group === undefined) vertices.set(number, startGroup(index))
      else {
        join(group, index)
        const said = VERTEX_OUTCOME.exec(text)
        if (said) /** @type {Group} */ (groups[group]).outcome = said[1] ? 'failed' : said[2] ? 'cached' : said[3] ?? ''
      }
    } else if (CLASSIC_STEP.test(text)) {
      current = startGroup(index)
    } else {
      if (current === undefined) {
        groups.push({ header: null, lines: [], open: true, outcome: '', failing: false })
        current = groups.length - 1
      }
      join(current, index)
    }
    if (!pendingRender) {
      pendingRender = true
      requestAnimationFrame(update)
    }
  }

  // --- Rows: the headers, and the lines of open groups.

  const layout = () => {
    if (!layoutStale) return
    rowStarts = []
    totalRows = 0
    for (const group of groups) {
      rowStarts.push(totalRows)
      totalRows += rowCount(group)
    }
    layoutStale = false
    spacer.style.height = `${totalRows * ROW_PX}px`
    log.style.setProperty('--number-width', `${String(texts.length).length + 1}ch`)
  }

  /**
   * @param {number} row
   * @returns {Row | null}
   */
  const rowAt = (row) => {
    // The last group starting at or before `row`, skipping empty ones (folded without a header).
    let low = 0
    let high = groups.length - 1
    while (low < high) {
      const middle = (low + high + 1) >> 1
      if (/** @type {number} */ (rowStarts[middle]) <= row) low = middle
      else high = middle - 1
    }
    const group = /** @type {Group} */ (groups[low])
    const offset = row - /** @type {number} */ (rowStarts[low])
    if (offset < 0 || offset >= rowCount(group)) return null
    if (group.header !== null) return { group: low, line: offset === 0 ? null : /** @type {number} */ (group.lines[offset - 1]) }
    return { group: low, line: /** @type {number} */ (group.lines[offset]) }
  }

  /**
   * The row of a line (its group open) or of a group's header.
   * @param {Row} at
   * @returns {number}
   */
  const rowOf = ({ group, line }) => {
    const found = /** @type {Group} */ (groups[group])
    const start = /** @type {number} */ (rowStarts[group])
    if (line === null || line === found.header) return start
    return start + (found.header === null ? 0 : 1) + sortedIndex(found.lines, line)
  }

  const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < ROW_PX * 2

  // --- Drawing the rows in sight.

  const render = () => {
    layout()
    const first = Math.max(0, Math.floor(log.scrollTop / ROW_PX) - OVERSCAN)
    const last = Math.min(totalRows, Math.ceil((log.scrollTop + log.clientHeight) / ROW_PX) + OVERSCAN)
    /** @type {HTMLElement[]} */
    const made = []
    for (let row = first; row < last; row++) {
      const at = rowAt(row)
      if (at) made.push(rowElement(at))
    }
    rows.style.transform = `translateY(${first * ROW_PX}px)`
    rows.replaceChildren(...made)
    placeFailingAnchor()
  }

  /**
   * @param {Row} at
   * @returns {HTMLElement}
   */
  const rowElement = ({ group, line }) => {
    const owner = /** @type {Group} */ (groups[group])
    const index = line ?? /** @type {number} */ (owner.header)
    const number = index + 1
    const classes = ['log-row', `stream-${streams[index]}`]
    if (owner.failing) classes.push('failing')
    if (index === target) classes.push('target')
    if (searchBox.isCurrent(index)) classes.push('current-match')
    const numberLink = h('a', { class: 'ln', href: lineHref(id, number), 'data-line': number, 'aria-label': `Line ${number}` }, number)
    const stamp = h('span', { class: 'ts', title: new Date(/** @type {number} */ (times[index])).toISOString() }, timeFormat.format(/** @type {number} */ (times[index])))
    const text = h('span', { class: 'line' }, searchBox.marked(/** @type {string} */ (texts[index])))
    if (line !== null || owner.lines.length === 0) return h('div', { class: classes.join(' '), 'data-line': number }, numberLink, stamp, text)
    classes.push('log-group')
    return h(
      'div',
      { class: classes.join(' '), 'data-line': number },
      numberLink,
      stamp,
      h(
        'button',
        { type: 'button', class: 'fold', 'data-group': group, 'aria-expanded': owner.open ? 'true' : 'false', title: owner.open ? 'Fold this step' : 'Show this step’s lines' },
        h('span', { class: 'chevron', 'aria-hidden': 'true' }, owner.open ? '▾' : '▸'),
        text
      ),
      owner.failing ? h('span', { class: 'tag failing-tag' }, 'failing step') : null,
      owner.outcome && !owner.failing ? h('span', { class: `tag outcome outcome-${owner.outcome === 'failed' || owner.outcome === 'cached' ? owner.outcome : 'done'}` }, owner.outcome) : null,
      h('span', { class: 'count muted' }, `${owner.lines.length.toLocaleString()} line${owner.lines.length === 1 ? '' : 's'}`)
    )
  }

  /** @type {HTMLElement | null} */
  let failingAnchor = null
  // The failing step's header is drawn only while in sight; this stand-in always is, so the error
  // box's "show it in the log" (which scrolls to #failing-step) finds it.
  const placeFailingAnchor = () => {
    const group = groups.findIndex((g) => g.failing)
    if (group === -1) return
    failingAnchor ??= spacer.appendChild(h('span', { id: 'failing-step', class: 'log-anchor', 'aria-hidden': 'true' }))
    failingAnchor.style.top = `${rowOf({ group, line: null }) * ROW_PX}px`
  }

  // What changed since the last frame: new lines, a group opened or folded. A reader at the
  // bottom stays there; one who scrolled up keeps the rows they were reading in place.
  const update = () => {
    pendingRender = false
    const anchor = following ? null : rowAt(Math.floor(log.scrollTop / ROW_PX))
    const anchorOffset = log.scrollTop % ROW_PX
    layout()
    if (following) log.scrollTop = log.scrollHeight
    else if (anchor) log.scrollTop = rowOf(anchor) * ROW_PX + anchorOffset
    if (wanted !== null && wanted < texts.length && live) reveal(wanted, true)
    render()
    searchBox.count()
    jump.hidden = !live || following
  }

  /**
   * Opens the line's group and scrolls it to the middle of the view (and the view into the page).
   * @param {number} index
   * @param {boolean} [linked] A link asked for it: it stays highlighted.
   */
  const reveal = (index, linked = false) => {
    const group = /** @type {number} */ (groupOf[index])
    const owner = /** @type {Group} */ (groups[group])
    if (!owner.open && owner.header !== index) {
      owner.open = true
      layoutStale = true
    }
    layout()
    if (linked) {
      target = index
      wanted = null
    }
    following = false
    jump.hidden = !live
    log.scrollTop = rowOf({ group, line: index }) * ROW_PX - log.clientHeight / 2 + ROW_PX / 2
    render()
    const row = rows.querySelector(`.log-row[data-line="${index + 1}"]`)
    row?.scrollIntoView({ block: 'nearest' })
    if (linked) log.scrollIntoView({ block: 'center' })
  }

  // --- The reader's part.

  rows.addEventListener('click', (event) => {
    const clicked = /** @type {Element} */ (event.target)
    const fold = clicked.closest('button.fold')
    if (fold instanceof HTMLElement) {
      const group = /** @type {Group} */ (groups[Number(fold.dataset.group)])
      group.open = !group.open
      layoutStale = true
      render()
      focusFold(rows, fold.dataset.group ?? '')
      return
    }
    const link = clicked.closest('a.ln')
    if (link instanceof HTMLAnchorElement) {
      // The address changes without a hashchange, which would load the page again.
      event.preventDefault()
      history.replaceState(null, '', link.href)
      target = Number(link.dataset.line) - 1
      render()
    }
  })

  // Lines that arrived meanwhile are laid out by update(), which keeps a following reader at the
  // bottom: laid out here, they would make the next scroll event take the reader for one who left it.
  log.addEventListener('scroll', () => {
    if (live) {
      following = atBottom()
      jump.hidden = following
    }
    if (!pendingRender) {
      pendingRender = true
      requestAnimationFrame(update)
    }
  }, { passive: true })

  jump.addEventListener('click', () => {
    following = true
    jump.hidden = true
    log.scrollTop = log.scrollHeight
    log.focus()
  })

  timestamps.checked = localStorage.getItem(TIMESTAMPS_KEY) === 'on'
  log.classList.toggle('show-times', timestamps.checked)
  timestamps.addEventListener('change', () => {
    localStorage.setItem(TIMESTAMPS_KEY, timestamps.checked ? 'on' : 'off')
    log.classList.toggle('show-times', timestamps.checked)
  })

  const saveRaw = async () => {
    show(downloadState, 'Downloading…')
    try {
      // The API takes the token in a header, never in an address: fetched, then saved from memory.
      const response = await request(`/v1/builds/${encodeURIComponent(id)}/logs`, { headers: { accept: 'text/plain' }, signal })
      const url = URL.createObjectURL(await response.blob())
      h('a', { href: url, download: `slipway-build-${id}.log` }).click()
      setTimeout(() => URL.revokeObjectURL(url), 60_000)
      show(downloadState)
    } catch (error) {
      if (!signal.aborted) show(downloadState, errorBox(error, 'The log could not be downloaded:'))
    }
  }
  download.addEventListener('click', () => { void saveRaw() })

  /** @param {boolean} open */
  const foldAll = (open) => {
    for (const group of groups) if (group.header !== null) group.open = open
    layoutStale = true
    render()
  }

  const element = h(
    'div',
    { class: 'log-view' },
    h(
      'div',
      { class: 'log-tools' },
      searchBox.element,
      h('label', { class: 'log-toggle' }, timestamps, ' Timestamps'),
      h('button', { type: 'button', class: 'secondary', id: 'log-expand', onclick: () => foldAll(true) }, 'Expand all'),
      h('button', { type: 'button', class: 'secondary', id: 'log-collapse', onclick: () => foldAll(false) }, 'Collapse all'),
      download,
      downloadState
    ),
    h('div', { class: 'log-frame' }, log, jump)
  )

  // --- Search, over every line, folded or not.

  function logSearch () {
    const input = h('input', { type: 'search', id: 'log-search', placeholder: 'Search the log', 'aria-label': 'Search the log', autocomplete: 'off' })
    const counter = h('span', { id: 'log-search-count', class: 'small muted', role: 'status' })
    /** The lines that hold the query, ascending. @type {number[]} */
    let matches = []
    let query = ''
    // The query as a pattern that ignores case: matched in place, a line costs no lower-cased copy,
    // which over 200,000 lines is most of a search's time.
    /** @type {RegExp | null} */
    let pattern = null
    let position = -1
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer

    const run = () => {
      query = input.value
      pattern = query ? new RegExp(query.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'), 'giu') : null
      matches = []
      position = -1
      if (pattern) for (let i = 0; i < texts.length; i++) if (holds(/** @type {string} */ (texts[i]))) matches.push(i)
      count()
      if (matches.length) go(1)
      else render()
    }
    /** @param {string} text */
    const holds = (text) => {
      if (!pattern) return false
      pattern.lastIndex = 0
      return pattern.test(text)
    }
    /** @param {number} step 1: the next match, -1: the previous. */
    const go = (step) => {
      if (input.value !== query) return run()
      if (!matches.length) return
      position = (position + step + matches.length) % matches.length
      count()
      reveal(/** @type {number} */ (matches[position]))
    }
    const count = () => {
      if (!query) show(counter)
      else if (!matches.length) show(counter, 'no matches')
      else show(counter, position === -1 ? `${matches.length.toLocaleString()} lines` : `${(position + 1).toLocaleString()} of ${matches.length.toLocaleString()} lines`)
    }
    input.addEventListener('input', () => {
      clearTimeout(timer)
      timer = setTimeout(run, SEARCH_DELAY_MS)
    })
    input.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter') return
      event.preventDefault()
      clearTimeout(timer)
      go(event.shiftKey ? -1 : 1)
    })
    return {
      element: h(
        'div',
        { class: 'log-search', role: 'search' },
        input,
        h('button', { type: 'button', class: 'secondary', id: 'log-search-previous', title: 'Previous match (Shift+Enter)', onclick: () => go(-1) }, '↑', h('span', { class: 'visually-hidden' }, ' Previous match')),
        h('button', { type: 'button', class: 'secondary', id: 'log-search-next', title: 'Next match (Enter)', onclick: () => go(1) }, '↓', h('span', { class: 'visually-hidden' }, ' Next match')),
        counter
      ),
      count,
      /** A line that arrived while a search is on. @param {number} index */
      offer: (index) => {
        if (holds(/** @type {string} */ (texts[index]))) matches.push(index)
      },
      /** @param {number} index */
      isCurrent: (index) => position !== -1 && matches[position] === index,
      /**
       * The text with each occurrence of the query marked.
       * @param {string} text
       * @returns {Array<string | HTMLElement>}
       */
      marked: (text) => {
        if (!pattern) return [text]
        const parts = []
        let from = 0
        for (const match of text.matchAll(pattern)) {
          parts.push(text.slice(from, match.index), h('mark', {}, match[0]))
          from = match.index + match[0].length
        }
        parts.push(text.slice(from))
        return parts
      }
    }
  }

  return {
    element,
    add,
    total: () => texts.length,
    /**
     * The log is complete: the failing step is opened and marked (or, without a step, the phase
     * that failed), and the linked line, else the failing step, is shown.
     * @param {Build} build
     */
    end (build) {
      live = false
      following = false
      jump.hidden = true
      layout()
      const failing = failingGroup(groups, texts, build)
      if (failing !== -1) {
        const group = /** @type {Group} */ (groups[failing])
        group.failing = build.error?.step !== undefined
        group.open = true
        layoutStale = true
      }
      if (wanted !== null && wanted < texts.length) reveal(wanted, true)
      else if (failing !== -1) {
        reveal(/** @type {number} */ (groups[failing]?.header))
        document.getElementById('failing-step')?.scrollIntoView({ block: 'center' })
      } else render()
    }
  }
}

/**
 * The address of a line of build `id`'s log: the build's page, which opens at it.
 * @param {string} id
 * @param {number} number 1-based.
 */
export const lineHref = (id, number) => `#/builds/${encodeURIComponent(id)}?line=${number}`

/**
 * The group the build failed in: its failing step as the builder printed it ("[3/5] RUN make",
 * matched by the end of a header, the last such); without one (a cancel, a time limit, a clone
 * that failed), the group that printed last in the phase it ended in, or the phase's own. -1 when
 * it did not fail, or the log does not show where.
 * @param {Group[]} groups
 * @param {string[]} texts
 * @param {Build} build
 */
function failingGroup (groups, texts, build) {
  const error = build.error
  if (!error) return -1
  const headerText = (/** @type {Group} */ group) => (group.header === null ? '' : /** @type {string} */ (texts[group.header]))
  const step = error.step
  if (step) return groups.findLastIndex((group) => headerText(group) === step || headerText(group).endsWith(` ${step}`))
  const phase = error.phase
  if (!phase) return -1
  const start = groups.findLastIndex((group) => headerText(group) === `==> ${phase}` || headerText(group).startsWith(`==> ${phase} (`))
  if (start === -1) return -1
  const next = groups.findIndex((group, index) => index > start && headerText(group).startsWith('==> '))
  const inPhase = groups.slice(start, next === -1 ? groups.length : next)
  const last = inPhase.findLastIndex((group) => group.lines.length > 0)
  return start + Math.max(0, last)
}

/**
 * Where `value` is in the ascending `list` (which holds it).
 * @param {number[]} list
 * @param {number} value
 */
function sortedIndex (list, value) {
  let low = 0
  let high = list.length - 1
  while (low < high) {
    const middle = (low + high) >> 1
    if (/** @type {number} */ (list[middle]) < value) low = middle + 1
    else high = middle
  }
  return low
}

/**
 * Rows a group takes: its header, and its lines while open (always, for the group without a header).
 * @param {Group} group
 */
function rowCount (group) {
  if (group.header === null) return group.lines.length
  return 1 + (group.open ? group.lines.length : 0)
}

/**
 * Gives the focus back to a group's fold button, made anew by the redraw its click caused.
 * @param {HTMLElement} rows
 * @param {string} group
 */
function focusFold (rows, group) {
  const button = rows.querySelector(`button.fold[data-group="${group}"]`)
  if (button instanceof HTMLElement) button.focus()
}
