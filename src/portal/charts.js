import { h, svg } from './dom.js'
import { bytes, shortCommit, time } from './format.js'

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
 * point a succeeded build (a link to it), and a dashed line at each size budget the builds had.
 * @param {SizeSeries[]} series
 * @returns {SVGSVGElement}
 */
export function sizeChart (series) {
  const width = 800
  const height = 320
  const left = 80
  const right = 120
  const top = 16
  const bottom = 40
  const points = series.flatMap((s) => s.points)
  const times = points.map((p) => Date.parse(p.finishedAt))
  const budgets = [...new Set(points.map((p) => p.maxImageBytes).filter((b) => b !== null))]
  const max = Math.max(...points.map((p) => p.sizeBytes), ...budgets) * 1.1 || 1
  const [first, last] = [Math.min(...times), Math.max(...times)]
  const x = (/** @type {number} */ t) => (last === first ? (left + width - right) / 2 : left + ((t - first) / (last - first)) * (width - left - right))
  const y = (/** @type {number} */ b) => top + (1 - b / max) * (height - top - bottom)
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max)

  return svg(
    'svg',
    { class: 'chart size-chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Image size of each succeeded build over time' },
    ticks.map((b) => svg('g', { class: 'grid' }, svg('line', { x1: left, x2: width - right, y1: y(b), y2: y(b) }), svg('text', { x: left - 6, y: y(b) + 4, class: 'axis' }, bytes(Math.round(b))))),
    svg('text', { x: left, y: height - 12, class: 'axis start' }, time(new Date(first).toISOString())),
    last !== first ? svg('text', { x: width - right, y: height - 12, class: 'axis' }, time(new Date(last).toISOString())) : null,
    budgets.map((budget) =>
      svg(
        'g',
        { class: 'budget' },
        svg('title', {}, `Size budget: ${bytes(budget)}`),
        svg('line', { x1: left, x2: width - right, y1: y(budget), y2: y(budget) }),
        svg('text', { x: width - right + 6, y: y(budget) + 4 }, `budget ${bytes(budget)}`)
      )
    ),
    series.map((s, i) =>
      svg(
        'g',
        { class: `series series-${i % 6}` },
        svg('polyline', { points: s.points.map((p) => `${x(Date.parse(p.finishedAt))},${y(p.sizeBytes)}`).join(' ') }),
        s.points.map((p) =>
          svg(
            'a',
            { href: `#/builds/${p.buildId}` },
            svg('circle', { cx: x(Date.parse(p.finishedAt)), cy: y(p.sizeBytes), r: 5, class: 'point' }),
            svg('title', {}, `${bytes(p.sizeBytes)} — ${s.name}, commit ${shortCommit(p.commit)}, ${time(p.finishedAt)}`)
          )
        )
      )
    )
  )
}
