import { isTerminal } from '../../domain/build-status.js'
import { CACHE_MISS_LABELS, cacheText, layerLabels, stageName, summaryEntries } from '../../domain/build-summary.js'
import { actorText, startedBy } from '../actor.js'
import { buildRights, followLog, json, readLog, signedIn } from '../api.js'
import { layersChart } from '../charts.js'
import { durationTicks, timelineEnd } from '../scales.js'
import { logView } from '../log-view.js'
import { signingSection } from './attestations.js'
import { packagesSection } from './packages.js'
import { errorBox, h, show, statusBadge, svg, withCode } from '../dom.js'
import { buildDuration, bytes, clock, duration, shortCommit, source, time } from '../format.js'

/**
 * @import { Build, BuildError, Image, RanOn, Step } from '../../domain/schemas/build.js'
 * @import { VariantResult } from '../../domain/schemas/insight.js'
 * @import { Children } from '../dom.js'
 * @import { PageContext } from '../app.js'
 */

const REFRESH_MS = 2000

/**
 * #/builds/ID: the build's state, its phases and steps as a timeline, its live log, and once it
 * has one, its image: layers, the advisor's findings, variants. While the build runs, the log
 * streams and the rest is refreshed every few seconds.
 * @param {HTMLElement} main
 * @param {PageContext} context
 */
export async function buildPage (main, { id, query, signal }) {
  const fetchBuild = async () => /** @type {Build} */ (await json(`/v1/builds/${encodeURIComponent(id)}`, { signal }))
  let build = await fetchBuild()
  const rights = buildRights(await signedIn())
  const details = h('div', { id: 'build-details' })
  const logState = h('span', { class: 'muted small', id: 'log-state' }, 'Connecting…')
  const lines = logView(id, { line: Number(query.get('line')) || null, live: !isTerminal(build.status), signal })
  const actionResult = h('div', { id: 'action-result' })
  const actions = h('div', { class: 'actions' })
  const statusBox = h('span', { id: 'build-status' })
  show(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Build ', h('code', {}, id)), statusBox),
    actions,
    actionResult,
    details,
    h('section', {}, h('h2', {}, 'Log ', logState), lines.element)
  )

  // The buttons are made again only when what they offer changes, so a click never meets a
  // button replaced under the pointer by a refresh.
  /** @type {string | undefined} */
  let offered
  const render = () => {
    show(statusBox, statusBadge(build.status))
    if (offered !== `${build.status}/${build.cancelRequested}`) {
      show(actions, actionButtons(build, actionResult, rights, signal))
      // "Cancel requested…" is old news once the build has ended: its status box says how.
      if (offered !== undefined && isTerminal(build.status)) show(actionResult)
    }
    offered = `${build.status}/${build.cancelRequested}`
    show(details, overview(build))
  }
  render()

  let refreshing = false
  // Once the log has ended, its end event holds the final build: a refresh still in flight then
  // answers with an older state, which must not replace it (the page would show "running" for good).
  let ended = false
  const refresh = async () => {
    if (refreshing) return
    refreshing = true
    try {
      const fetched = await fetchBuild()
      if (ended) return
      build = fetched
      render()
    } catch (error) {
      if (!signal.aborted) show(actionResult, errorBox(error, 'The build could not be refreshed:'))
    } finally {
      refreshing = false
    }
  }
  const timer = setInterval(() => isTerminal(build.status) || refresh(), REFRESH_MS)
  signal.addEventListener('abort', () => clearInterval(timer))
  const stopTicking = isTerminal(build.status) ? null : tickTimeline(details, () => build, signal)

  show(logState, isTerminal(build.status) ? 'loading…' : 'following live…')
  try {
    // An ended build's log is complete: read in its compact form, with no events to wait for.
    if (isTerminal(build.status)) await readLog(id, { signal, onLine: lines.add })
    else build = await followLog(id, { signal, onLine: lines.add, onStatus: () => { void refresh() } })
    ended = true
    clearInterval(timer)
    stopTicking?.()
    render()
    show(logState, lines.total() ? `complete, ${lines.total().toLocaleString()} lines` : 'empty')
    lines.end(build)
  } catch (error) {
    if (!signal.aborted) show(logState, errorBox(error, 'The log could not be read:'))
  }
}

/**
 * Cancel (while the build runs) or Retry (once it ended), each only when it can work: a token
 * without builds:write sees them disabled, and an uploaded folder's build is not offered a retry;
 * either says why, beside the button as well as on hover. Cancel asks first, in the page.
 * @param {Build} build
 * @param {HTMLElement} result Where what happened is shown.
 * @param {{ write: boolean, why: string }} rights What the signed-in token may do.
 * @param {AbortSignal} signal
 */
function actionButtons (build, result, rights, signal) {
  /**
   * @param {string} label
   * @param {'cancel' | 'retry'} path
   * @param {(answer: Build) => void} then
   */
  const act = async (label, path, then) => {
    show(result, h('p', { class: 'muted' }, `${label}…`))
    try {
      const answer = /** @type {Build} */ (await json(`/v1/builds/${encodeURIComponent(build.id)}/${path}`, { method: 'POST', signal }))
      then(answer)
    } catch (error) {
      if (!signal.aborted) show(result, errorBox(error, `${label} was refused:`))
    }
  }
  /** @param {string} id */
  const why = (id) => h('span', { id, class: 'muted small why' }, rights.why ? `${rights.why}.` : '')
  const running = !isTerminal(build.status)
  /** @type {(HTMLElement | null)[]} */
  let offer
  if (running) {
    const cancel = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        id: 'cancel',
        disabled: build.cancelRequested || !rights.write,
        title: rights.why || null,
        'aria-describedby': rights.why ? 'cancel-why' : null,
        'aria-expanded': 'false',
        'aria-controls': 'cancel-confirm',
        onclick: () =>
          confirmCancel(cancel, result, () =>
            // A queued build is canceled by the answer itself: its status box says so, nothing is pending.
            act('Canceling', 'cancel', (answer) => show(result, isTerminal(answer.status) ? null : h('p', { class: 'muted' }, 'Cancel requested: a running build stops within seconds.')))
          )
      },
      build.cancelRequested ? 'Cancel requested' : 'Cancel build'
    )
    offer = [cancel, rights.why && !build.cancelRequested ? why('cancel-why') : null]
  } else if (build.request.source) {
    offer = [h('p', { id: 'retry-unavailable', class: 'muted small why' }, 'No retry: an uploaded folder is not kept after its build; run ', h('code', {}, 'slipway submit --dir'), ' again.')]
  } else {
    offer = [
      h(
        'button',
        {
          type: 'button',
          id: 'retry',
          disabled: !rights.write,
          title: rights.why || 'Build the same request again, at the same commit',
          'aria-describedby': rights.why ? 'retry-why' : null,
          onclick: () => { void act('Retrying', 'retry', (retried) => { location.hash = `#/builds/${retried.id}` }) }
        },
        'Retry build'
      ),
      rights.why ? why('retry-why') : null
    ]
  }
  return [...offer, build.request.repo ? h('a', { class: 'button secondary', href: `#/repos/${encodeURIComponent(build.request.repo)}` }, 'Repository sizes') : null]
}

/**
 * Asks, in the page, whether to cancel: the question and two buttons under the Cancel button, the
 * focus on Yes (a person who pressed Cancel meant it; the question catches a stray click). Yes runs
 * `cancel`; No, or Escape anywhere in the question, closes it and puts the focus back on Cancel.
 * @param {HTMLButtonElement} button
 * @param {HTMLElement} result Where the question is asked.
 * @param {() => Promise<void>} cancel
 */
function confirmCancel (button, result, cancel) {
  const close = () => {
    button.setAttribute('aria-expanded', 'false')
    show(result)
    button.focus()
  }
  const yes = h('button', { type: 'button', class: 'danger', id: 'confirm-cancel', onclick: () => { button.setAttribute('aria-expanded', 'false'); void cancel() } }, 'Yes, cancel it')
  const no = h('button', { type: 'button', class: 'secondary', id: 'keep-build', onclick: close }, 'No, let it run')
  const panel = h(
    'div',
    {
      id: 'cancel-confirm',
      class: 'confirm',
      role: 'group',
      'aria-labelledby': 'cancel-question',
      onkeydown: (/** @type {Event} */ event) => {
        if (/** @type {KeyboardEvent} */ (event).key === 'Escape') close()
      }
    },
    h('p', { id: 'cancel-question' }, h('strong', {}, 'Cancel this build?'), ' A queued build ends at once; a running one stops within seconds, and its image is not pushed. It cannot be resumed.'),
    h('div', { class: 'actions' }, yes, no)
  )
  button.setAttribute('aria-expanded', 'true')
  show(result, panel)
  yes.focus()
}

/**
 * "This build was canceled by token ci-main at 12:03" once it ended so (in its error box),
 * "Cancel requested by …" while it stops; nothing for a build nobody canceled.
 * @param {Build} build
 * @returns {HTMLElement | null}
 */
function cancelNote (build) {
  if (!build.canceledBy || !build.canceledAt) return null
  const when = h('time', { datetime: build.canceledAt, title: time(build.canceledAt) }, clock(build.canceledAt))
  const by = actorText(build.canceledBy)
  if (build.status === 'canceled') return h('span', { id: 'canceled-by' }, `This build was canceled by ${by} at `, when, '.')
  if (isTerminal(build.status)) return h('p', { id: 'canceled-by' }, `A cancel was asked for by ${by} at `, when, `, but the build had already ended ${build.status}.`)
  return h('p', { id: 'canceled-by' }, `Cancel requested by ${by} at `, when, ': the build stops within seconds.')
}

/**
 * @param {Build} build
 * @returns {Children}
 */
function overview (build) {
  const r = build.request
  return [
    // A canceled build's error says who canceled it and when, in words rather than the API's.
    build.error ? failure(build.error, build.status === 'canceled' ? cancelNote(build) : null) : null,
    build.status === 'canceled' ? null : cancelNote(build),
    build.warnings.length ? h('div', { class: 'warning-box' }, h('strong', {}, 'Warnings'), h('ul', {}, build.warnings.map((w) => h('li', {}, w)))) : null,
    h(
      'dl',
      { class: 'facts' },
      r.repo
        ? [
            fact('Repository', h('a', { href: `#/repos/${encodeURIComponent(r.repo)}` }, r.repo)),
            fact('Ref', r.ref ?? 'default branch', build.resolvedRef ? ` (${build.resolvedRef})` : ''),
            fact('Commit', h('code', { title: build.commit ?? '' }, shortCommit(build.commit)))
          ]
        : fact('Source', h('span', { id: 'upload-source', title: r.source ? `sha256:${r.source.sha256}` : '' }, source(build))),
      fact('Started by', h('span', { id: 'started-by' }, startedBy(build))),
      fact('Dockerfile', r.dockerfile, r.target ? ` · target ${r.target}` : '', ` · context ${r.context}`),
      fact('Builder', build.builder ?? r.builder ?? 'the worker\'s default'),
      build.ranOn ? fact('Ran on', ranOn(build.ranOn)) : null,
      fact('Submitted', time(build.createdAt)),
      fact('Duration', duration(buildDuration(build))),
      build.reusedFrom ? fact('Reused', 'the image of the identical build ', h('a', { href: `#/builds/${build.reusedFrom}` }, build.reusedFrom)) : null
    ),
    timeline(build),
    build.image ? imageSection(build, build.image) : null,
    build.variants.length ? h('section', {}, h('h2', {}, 'Variants'), variantsTable(build.variants)) : null
  ]
}

/**
 * A term and its description, for a `dl`.
 * @param {string} term
 * @param {...Children} value
 */
const fact = (term, ...value) => [h('dt', {}, term), h('dd', {}, ...value)]

/**
 * The Docker Engine by its name (its id on hover), and the worker process that ran the last attempt.
 * @param {RanOn} where
 * @returns {Children}
 */
function ranOn (where) {
  if (!where.engine) return `worker ${where.worker} (its Docker Engine could not be asked who it is)`
  return [h('span', { title: `Docker Engine ${where.engine.id}` }, where.engine.name), ` (worker ${where.worker})`]
}

/**
 * @param {BuildError} error
 * @param {HTMLElement | null} [said] What to say instead of the error's message (who canceled, and when).
 */
function failure (error, said) {
  return h(
    'div',
    { class: 'error-box', role: 'alert', id: 'build-error' },
    h('strong', { class: 'error-code' }, error.code),
    ' ',
    said ?? error.message,
    error.phase ? h('div', { class: 'small' }, `In the ${error.phase} phase.`) : null,
    error.step ? h('div', { class: 'small' }, 'Failing step: ', h('code', {}, error.step), error.exitCode !== undefined ? ` (exit code ${error.exitCode})` : '', ' ', h('button', { type: 'button', class: 'link', onclick: () => document.getElementById('failing-step')?.scrollIntoView({ block: 'center' }) }, 'show it in the log')) : null
  )
}

// The timeline's time axis and bars, in pixels: the bar cells are drawn at this width (style.css).
const TIMELINE_WIDTH = 360
const TICK_MS = 1000

/**
 * Phases, and the build phase's steps under it, each with a bar placed on a time axis from the
 * build's start, with round ticks (s, min, h). While the build runs, the axis ends at the round
 * step after now and what is running carries `data-since` (when it started), from which
 * tickTimeline moves its bar and its timer on every second.
 * @param {Build} build
 */
function timeline (build) {
  const [firstPhase] = build.phases
  if (!firstPhase) return h('section', {}, h('h2', {}, 'Timeline'), h('p', { class: 'empty' }, build.status === 'queued' ? 'Waiting for a worker: the phases appear as they run.' : 'No phase ran.'))
  const start = Date.parse(build.startedAt ?? firstPhase.startedAt ?? '')
  const running = build.finishedAt === null
  const now = running ? Date.now() : Date.parse(build.finishedAt ?? '')
  const end = timelineEnd(now - start, running)
  const ticks = durationTicks(end, 4)
  const x = (/** @type {number} */ ms) => (ms / end) * TIMELINE_WIDTH
  const grid = () => ticks.slice(1).map((tick) => svg('line', { class: 'tick', x1: x(tick), x2: x(tick), y1: 0, y2: 12 }))
  /**
   * When a phase or step started if it runs now (its bar and time then grow), else null.
   * @param {string} status
   * @param {string | null} startedAt
   */
  const runningSince = (status, startedAt) => (running && status === 'running' && startedAt ? Date.parse(startedAt) : null)
  /**
   * @param {string | null} startedAt
   * @param {number | null} ms
   * @param {string} className
   * @param {number | null} since
   */
  const bar = (startedAt, ms, className, since) => {
    const from = startedAt ? Date.parse(startedAt) : start
    return svg(
      'svg',
      { class: 'bar-cell', viewBox: `0 0 ${TIMELINE_WIDTH} 12`, 'aria-hidden': 'true' },
      grid(),
      svg('rect', { class: className, x: x(from - start), y: 2, height: 8, width: Math.max(1, x(ms ?? now - from)), 'data-since': since })
    )
  }
  /**
   * How long it took, or, while it runs, how long it has run so far.
   * @param {number | null} ms
   * @param {number | null} since
   */
  const took = (ms, since) => h('td', { class: since === null ? 'num' : 'num live', 'data-since': since }, duration(since === null ? ms : now - since))
  const axis = svg(
    'svg',
    { class: 'time-axis', viewBox: `0 0 ${TIMELINE_WIDTH} 16`, 'aria-hidden': 'true' },
    // The first label starts at the axis' start, one near its end ends there: neither is cut off.
    ticks.map((tick) => svg('text', { x: x(tick), y: 12, class: tick === 0 ? 'start' : x(tick) > TIMELINE_WIDTH - 24 ? 'end' : 'middle' }, tick === 0 ? '0 s' : duration(tick)))
  )
  const rows = []
  for (const phase of build.phases) {
    const phaseSince = runningSince(phase.status, phase.startedAt)
    rows.push(h('tr', { class: `phase phase-${phase.status}` }, h('th', { scope: 'row' }, phase.name, phase.variant ? ` (${phase.variant})` : ''), h('td', {}, phase.status), took(phase.durationMs, phaseSince), h('td', {}, bar(phase.startedAt, phase.durationMs, phase.status, phaseSince))))
    if (phase.name === 'build' && !phase.variant) {
      for (const [index, step] of build.steps.entries()) {
        const first = build.cache?.firstMiss?.step === index
        const waiting = notStarted(step)
        const since = waiting ? null : runningSince(step.status, step.startedAt ?? phase.startedAt)
        rows.push(
          h(
            'tr',
            { class: `step step-${waiting ? 'not-run' : step.status}${step.cached ? ' cached' : ''}${first ? ' first-miss' : ''}`, 'data-step': index },
            h(
              'td',
              { class: 'instruction' },
              step.line !== undefined ? h('span', { class: 'line-number muted' }, `line ${step.line} `) : null,
              step.stage ? h('span', { class: 'muted' }, `${stageName(step.stage)} `) : null,
              step.instruction,
              step.cacheMiss ? h('div', { class: 'miss-summary' }, step.cacheMiss.detail.summary) : null
            ),
            h('td', {}, step.cached ? h('span', { class: 'tag' }, 'cached') : waiting ? notStartedText(step, build) : step.status, step.exitCode !== undefined ? ` (exit ${step.exitCode})` : '', missBadge(step, first)),
            took(step.durationMs, since),
            h('td', {}, waiting ? null : bar(step.startedAt ?? phase.startedAt, step.durationMs, step.cached ? 'cached' : step.status, since))
          )
        )
      }
    }
  }
  return h(
    'section',
    {},
    h('h2', {}, 'Timeline'),
    cacheSummary(build),
    h('p', { class: 'help' }, 'Each phase, and the Dockerfile steps of the build phase, by their Dockerfile line, on a time axis from the build\'s start. "cached" steps came from the layer cache and did not run; "not run" steps never started, because the build ended first; a step that ran says why, and the first of them, which the rest followed, is highlighted. While the build runs, its running steps\' bars and times grow every second.'),
    h(
      'table',
      { class: 'timeline', 'data-start': start, 'data-end': end },
      h('thead', {}, h('tr', {}, ['Phase / step', 'Status', 'Took'].map((t) => h('th', { scope: 'col' }, t)), h('th', { scope: 'col', class: 'when' }, h('span', { class: 'when-label' }, 'When, since the build started'), axis))),
      h('tbody', {}, rows)
    )
  )
}

/**
 * Moves the timeline's running bars and timers on every second, between the page's refreshes of
 * the whole build, and draws it again from `current()` when they reach the end of its axis. It
 * stops when `signal` aborts (the person left the page: the router aborts it) or when the returned
 * function is called (the build ended).
 * @param {HTMLElement} details Where overview() puts the timeline.
 * @param {() => Build} current The build as last fetched.
 * @param {AbortSignal} signal
 * @returns {() => void}
 */
function tickTimeline (details, current, signal) {
  const tick = () => {
    const table = details.querySelector('table.timeline')
    if (!(table instanceof HTMLTableElement)) return
    const now = Date.now()
    const start = Number(table.dataset.start)
    const end = Number(table.dataset.end)
    if (now - start >= end) return table.closest('section')?.replaceWith(timeline(current()))
    for (const rect of table.querySelectorAll('rect[data-since]')) rect.setAttribute('width', String(Math.max(1, ((now - Number(rect.getAttribute('data-since'))) / end) * TIMELINE_WIDTH)))
    for (const cell of table.querySelectorAll('td[data-since]')) cell.textContent = duration(now - Number(cell.getAttribute('data-since')))
  }
  const timer = setInterval(tick, TICK_MS)
  const stop = () => clearInterval(timer)
  signal.addEventListener('abort', stop)
  return stop
}

/**
 * Whether a step never started: BuildKit names every step of the build up front, and gives a step
 * its start time only when it runs, so one without a start time that is neither cached nor done
 * waited its turn; the worker marks such a step `interrupted` when the build ends first (another
 * step failed, a cancel, the time limit). It has no bar: it took no time.
 * @param {Step} step
 */
const notStarted = (step) => step.startedAt === null && !step.cached && (step.status === 'interrupted' || step.status === 'running')

/**
 * @param {Step} step A step that never started.
 * @param {Build} build
 * @returns {HTMLSpanElement}
 */
function notStartedText (step, build) {
  if (step.status === 'running') return h('span', { class: 'muted', title: 'It waits for the steps it needs' }, 'waiting')
  const why = build.status === 'canceled' ? 'the build was canceled first' : build.status === 'timed_out' ? 'the build ran out of time first' : 'an earlier step failed'
  return h('span', { class: 'muted not-run', title: `It never started: ${why}` }, 'not run')
}

/**
 * Why a step ran rather than coming from the layer cache, as a badge ("files changed") whose
 * tooltip is the reason's one line; the first miss says so too.
 * @param {Step} step
 * @param {boolean} first Whether it is the build's first miss.
 * @returns {Children}
 */
function missBadge (step, first) {
  if (!step.cacheMiss) return null
  const { reason, detail } = step.cacheMiss
  return [
    ' ',
    h('span', { class: `tag miss miss-${reason}`, 'data-reason': reason, title: detail.summary }, CACHE_MISS_LABELS[reason]),
    first ? [' ', h('span', { class: 'tag first-miss-tag', title: 'The first step that ran: the steps after it that ran did so because it did' }, 'first miss')] : null
  ]
}

/**
 * "Layer cache: 5 of 9 steps (56%); line 4 COPY . /app rebuilt: src/app.py changed; 3 steps after
 * it followed", worded as the build log, the CLI and chat messages word it, and the build it was
 * compared with; nothing for a build without a cache summary.
 * @param {Build} build
 * @returns {Children}
 */
function cacheSummary (build) {
  const text = cacheText(build)
  const compared = build.cache?.comparedWith
  if (text === null) return null
  return h(
    'p',
    { id: 'cache-summary', class: 'cache-summary' },
    h('strong', {}, 'Layer cache: '),
    text,
    compared ? [' ', h('span', { class: 'muted' }, '(compared with build ', h('a', { href: `#/builds/${compared}` }, compared), ')')] : null
  )
}

/**
 * The image: first the summary the build log, the CLI and chat messages show (size, change,
 * budget, largest layer, first finding, worded by src/domain/build-summary.js), then its tags,
 * where its bytes are, what is in it, its signature and attestations, and every finding.
 * @param {Build} build
 * @param {Image} image
 */
function imageSection (build, image) {
  const signing = signingSection({ ...build, image })
  return h(
    'section',
    { id: 'image' },
    h('h2', {}, 'Image'),
    h(
      'dl',
      { class: 'facts' },
      summaryEntries(image, build).map(([label, text]) => fact(label.charAt(0).toUpperCase() + label.slice(1), summaryValue(image, label, text))),
      fact('Tags', image.tags.map((tag) => h('div', {}, h('code', {}, tag)))),
      fact('Digest', image.digest ? h('code', {}, image.digest) : 'not pushed')
    ),
    h('h3', {}, 'Where the bytes are'),
    layersChart(image.layers, layerLabels(image, build)),
    h('h3', {}, 'What is in it'),
    packagesSection({ ...build, image }),
    signing ? [h('h3', {}, 'Signature and attestations'), signing] : null,
    h('h3', {}, 'What would make it smaller'),
    image.findings.length
      ? h('ol', { class: 'findings' }, image.findings.map((f) => h('li', {}, h('strong', {}, f.rule), f.bytes !== undefined ? ` · ${bytes(f.bytes)}` : '', f.lines.length ? ` · line ${f.lines.join(', ')}` : '', f.stage ? ` · ${stageName(f.stage)}` : '', h('div', { class: 'finding-message' }, withCode(f.message)))))
      : h('p', { class: 'empty' }, 'The advisor found nothing to remove.')
  )
}

/**
 * A summary line as the page shows it: the build it was compared with is a link, an exceeded budget stands out.
 * @param {Image} image
 * @param {string} label
 * @param {string} text
 * @returns {Children}
 */
function summaryValue (image, label, text) {
  const compared = image.sizeDelta?.comparedWith
  if (label === 'change' && compared && text.endsWith(compared)) return [text.slice(0, -compared.length), h('a', { href: `#/builds/${compared}` }, compared)]
  if (label === 'budget' && image.budget?.exceeded) return h('strong', { class: 'bad' }, text)
  // The advisor writes commands and paths in backticks.
  if (label === 'advisor') return withCode(text)
  return text
}

/**
 * The variants of one build side by side, as `docker images` would show them and more.
 * @param {VariantResult[]} variants
 * @returns {HTMLTableElement}
 */
export function variantsTable (variants) {
  return h(
    'table',
    { class: 'variants' },
    h('thead', {}, h('tr', {}, ['Variant', 'Status', 'Size', 'Base', 'Added', 'Layers', 'Build time', 'Findings', 'Dockerfile'].map((t) => h('th', { scope: 'col' }, t)))),
    h(
      'tbody',
      {},
      variants.map((v) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, v.name),
          h('td', {}, v.status, v.error ? h('div', { class: 'small' }, h('code', {}, v.error.code), ' ', v.error.message) : null),
          h('td', { class: 'num' }, bytes(v.sizeBytes)),
          h('td', { class: 'num' }, bytes(v.baseBytes)),
          h('td', { class: 'num' }, bytes(v.addedBytes)),
          h('td', { class: 'num' }, v.layerCount ?? '–'),
          h('td', { class: 'num' }, duration(v.durationMs)),
          h('td', { class: 'num' }, v.findings),
          h('td', {}, h('code', {}, v.dockerfile), v.target ? ` · ${v.target}` : '')
        )
      )
    )
  )
}
