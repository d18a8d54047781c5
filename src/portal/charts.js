import { h, svg } from './dom.js'
import { bytes, shortCommit, time } from './format.js'
import { DAY, sizeScale, timeTicks } from './scales.js'

/**
 * @import { Layer } from '../domain/schemas/build.js'
 */

/**
 * One succeeded build on the size chart, as GET /v1/repos/{repo}/sizes lists it.
 * @typedef {object} SizePoint
 * @property {string} buildId
 * @property {string} finishedAt
 * @property {string | null} ref
 * @property {string} commit
 * @property {string} dockerfile
 * @property {string | null} target
 * @property {number} sizeBytes
 * @property {number} baseBytes
 * @property {number} addedBytes
 * @property {number | null} maxImageBytes
 */

/**
 * Points of the same ref, Dockerfile and target: one line of the chart.
 * @typedef {{ name: string, points: SizePoint[] }} SizeSeries
 */

// Two small hand-written SVG charts. Every mark has a <title>, and each chart sits beside a table
// or list with the same numbers, so nothing is only in the picture.

const LABEL_CHARS = 60

/**
 * The image's layers, oldest first, as bars of bytes; 0-byte (metadata) steps are counted, not drawn.
 * @param {Layer[]} layers
 * @param {string[]} labels What each layer is called, in order: layerLabels of ../domain/build-summary.js.
 * @returns {HTMLElement}
 */
export function layersChart (layers, labels) {
  const drawn = layers.map((layer, index) => ({ ...layer, label: labels[index] ?? layer.instruction })).filter((layer) => layer.sizeBytes > 0)
  const empty = layers.length - drawn.length
  if (drawn.length === 0) return h('p', { class: 'empty' }, 'No layer holds any bytes.')
  const row = 26
  const labelWidth = 430
  const barSpace = 260
  const max = Math.max(...drawn.map((layer) => layer.sizeBytes))
  const chart = svg(
    'svg',
    { class: 'chart layers-chart', viewBox: `0 0 800 ${drawn.length * row + 8}`, role: 'img', 'aria-label': 'Bytes of each layer, by the instruction that made it' },
    drawn.map((layer, i) => {
      const y = i * row + 4
      const width = Math.max(2, (layer.sizeBytes / max) * barSpace)
      const label = layer.label
      return svg(
        'g',
        { class: layer.fromBase ? 'layer base' : 'layer' },
        svg('title', {}, `${label} — ${bytes(layer.sizeBytes)}`),
        svg('text', { x: 0, y: y + 16, class: 'label' }, label.length > LABEL_CHARS ? `${label.slice(0, LABEL_CHARS - 1)}…` : label),
        svg('rect', { x: labelWidth, y, width, height: row - 8, rx: 2, class: 'bar' }),
        svg('text', { x: labelWidth + width + 6, y: y + 16, class: 'value' }, bytes(layer.sizeBytes))
      )
    })
  )
  return h(
    'figure',
    {},
    chart,
    h('figcaption', { class: 'muted small' }, 'Grey bars came with the base image; blue ones this Dockerfile added. Line numbers are the Dockerfile\'s.', empty ? ` ${empty} step${empty === 1 ? '' : 's'} with 0 bytes (ENV, CMD, …) not drawn.` : '')
  )
}

/**
 * Image size over time: one line per series (points of the same ref, Dockerfile and target), each
 * point a succeeded build (a link to it), and a dashed line at each size budget the builds had,
 * labelled with its value and the series held to it. The size axis is linear from zero, or
 * logarithmic when the sizes differ more than tenfold (see sizeScale), so that a 700 kB image and
 * an 800 MB one both stand clear of the axis; its ticks are round numbers of bytes either way.
 * @param {SizeSeries[]} series
 * @returns {SVGSVGElement}
 */
export function sizeChart (series) {
  const width = 800
  const height = 320
  const left = 80
  const right = 24
  const top = 28
  const bottom = 40
  const plotHeight = height - top - bottom
  const points = series.flatMap((s) => s.points)
  const times = points.map((p) => Date.parse(p.finishedAt))
  const budgets = budgetLines(series)
  const scale = sizeScale([...points.map((p) => p.sizeBytes), ...budgets.map((b) => b.bytes)], plotHeight)
  const [first, last] = [Math.min(...times), Math.max(...times)]
  const x = (/** @type {number} */ t) => (last === first ? (left + width - right) / 2 : left + ((t - first) / (last - first)) * (width - left - right))
  const y = (/** @type {number} */ b) => top + (1 - scale.at(b)) * plotHeight
  const offset = -new Date(first).getTimezoneOffset() * 60_000
  const moments = last === first ? { step: 0, ticks: [first] } : timeTicks(first, last, 5, offset)

  return svg(
    'svg',
    {
      class: `chart size-chart scale-${scale.kind}`,
      viewBox: `0 0 ${width} ${height}`,
      // A group, not an image: its points are links to their builds, which an image would hide.
      role: 'group',
      'aria-label': `Image size of each succeeded build over time, on a ${scale.kind === 'log' ? 'logarithmic' : 'linear'} scale`
    },
    scale.ticks.map((b) => svg('g', { class: 'grid' }, svg('line', { x1: left, x2: width - right, y1: y(b), y2: y(b) }), svg('text', { x: left - 6, y: y(b) + 4, class: 'axis tick' }, bytes(b)))),
    scale.kind === 'log' ? svg('text', { x: 6, y: 14, class: 'axis start scale-note' }, 'log scale') : null,
    // A label near either end of the axis starts or ends there, rather than running off the chart.
    moments.ticks.map((t) => {
      const place = x(t) < left + 60 ? 'start' : x(t) > width - right - 60 ? 'end' : 'middle'
      return svg('text', { x: x(t), y: height - 14, class: `axis ${place} time-tick` }, momentLabel(t, moments.step, new Date(first).toDateString() !== new Date(last).toDateString()))
    }),
    budgets.map((budget) =>
      svg(
        'g',
        { class: 'budget' },
        svg('title', {}, `Size budget of ${budget.names.join(', ')}: ${bytes(budget.bytes)}`),
        svg('line', { x1: left, x2: width - right, y1: y(budget.bytes), y2: y(budget.bytes) }),
        svg('text', { x: width - right - 4, y: y(budget.bytes) - 5, class: 'budget-label' }, budgetLabel(budget, series.length))
      )
    ),
    series.map((s, i) =>
      svg(
        'g',
        { class: `series series-${i % 6}` },
        svg('polyline', { points: s.points.map((p) => `${x(Date.parse(p.finishedAt))},${y(p.sizeBytes)}`).join(' ') }),
        s.points.map((p) => {
          const what = `${bytes(p.sizeBytes)} — ${s.name}, commit ${shortCommit(p.commit)}, ${time(p.finishedAt)}`
          return svg(
            'a',
            { href: `#/builds/${p.buildId}`, 'aria-label': what },
            svg('circle', { cx: x(Date.parse(p.finishedAt)), cy: y(p.sizeBytes), r: 5, class: 'point' }),
            svg('title', {}, what)
          )
        })
      )
    )
  )
}

/**
 * Each size budget the builds had, with the series held to it.
 * @param {SizeSeries[]} series
 * @returns {{ bytes: number, names: string[] }[]}
 */
function budgetLines (series) {
  /** @type {Map<number, string[]>} */
  const names = new Map()
  for (const s of series) {
    for (const budget of new Set(s.points.map((p) => p.maxImageBytes))) {
      if (budget !== null) names.set(budget, [...(names.get(budget) ?? []), s.name])
    }
  }
  return [...names].map(([budget, held]) => ({ bytes: budget, names: held }))
}

/**
 * "budget 50 MB · main · Dockerfile": its value and the series held to it.
 * @param {{ bytes: number, names: string[] }} budget
 * @param {number} seriesCount
 */
function budgetLabel (budget, seriesCount) {
  const held = budget.names.length === seriesCount && seriesCount > 1 ? 'every series' : budget.names.join(', ')
  return `budget ${bytes(budget.bytes)} · ${held.length > LABEL_CHARS ? `${held.slice(0, LABEL_CHARS - 1)}…` : held}`
}

/**
 * A tick of the time axis as its step reads: a date for whole days, a time of day for shorter
 * steps (with the date when the chart spans days), both for a chart of a single moment.
 * @param {number} at
 * @param {number} step
 * @param {boolean} spansDays
 */
function momentLabel (at, step, spansDays) {
  /** @type {Intl.DateTimeFormatOptions} */
  const options = step === 0 ? { dateStyle: 'medium', timeStyle: 'short' } : step >= DAY ? { month: 'short', day: 'numeric' } : { hour: 'numeric', minute: '2-digit' }
  if (spansDays && step > 0 && step < DAY) Object.assign(options, { month: 'short', day: 'numeric' })
  return new Date(at).toLocaleString(undefined, options)
}
