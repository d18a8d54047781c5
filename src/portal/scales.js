// Where the marks of the portal's charts go, and which round numbers label their axes. Pure
// functions of numbers, with no DOM, so test/portal/scales.test.ts runs them under Node.

/**
 * A chart's value axis.
 * @typedef {object} Scale
 * @property {'linear' | 'log'} kind
 * @property {number[]} ticks Round values to label, smallest first; the first and the last are the axis' ends.
 * @property {(value: number) => number} at Where a value sits along the axis: 0 at its start, 1 at its end.
 */

// Above this ratio of the largest value to the smallest, a linear axis squeezes the smallest
// against zero (a 700 kB image beside an 800 MB one sits 0.1% up), so sizes go on a log axis.
const LOG_ABOVE_RATIO = 10
// Pixels between two labels of 12px text for them not to touch.
const MIN_LABEL_GAP = 16

/**
 * The round step (1, 2 or 5 × 10^n, never below `least`) that cuts `span` into about `count` parts.
 * @param {number} span
 * @param {number} count
 * @param {number} [least]
 * @returns {number}
 */
export function niceStep (span, count, least = 1) {
  const rough = span / count
  if (!(rough > least)) return least
  const power = 10 ** Math.floor(Math.log10(rough))
  return Math.max(least, [1, 2, 5, 10].map((m) => m * power).find((step) => step >= rough) ?? 10 * power)
}

/**
 * Round values from 0 up to the first one at or above `max`, about `count` steps apart.
 * @param {number} max
 * @param {number} count
 * @returns {number[]}
 */
export function linearTicks (max, count) {
  const step = niceStep(max, count)
  const steps = Math.max(1, Math.ceil(max / step))
  return Array.from({ length: steps + 1 }, (_, i) => i * step)
}

/**
 * The powers of ten around `min` and `max`, and the 2 and 5 between them when a decade is tall
 * enough (`length` pixels for the whole axis) to label them apart.
 * @param {number} min More than 0.
 * @param {number} max
 * @param {number} length
 * @returns {number[]}
 */
export function logTicks (min, max, length) {
  const low = Math.floor(Math.log10(min))
  const high = Math.max(low + 1, Math.ceil(Math.log10(max)))
  const decadePixels = length / (high - low)
  const between = decadePixels * Math.log10(2) >= MIN_LABEL_GAP ? [1, 2, 5] : [1]
  const ticks = []
  for (let power = low; power < high; power++) ticks.push(...between.map((m) => m * 10 ** power))
  ticks.push(10 ** high)
  // 10 ** -1 * 2 is 0.2000…04: round each to the precision its decade has.
  return ticks.map((tick) => Number(tick.toPrecision(1)))
}

/**
 * An axis for sizes in bytes (`length` pixels long) on which every one of `values` shows: linear
 * from zero while the largest is at most LOG_ABOVE_RATIO times the smallest, logarithmic beyond.
 * @param {number[]} values
 * @param {number} length
 * @returns {Scale}
 */
export function sizeScale (values, length) {
  const max = Math.max(1, ...values)
  const min = Math.min(...values)
  if (min <= 0 || max <= LOG_ABOVE_RATIO * min) {
    const ticks = linearTicks(max, Math.max(2, Math.floor(length / 50)))
    const top = ticks.at(-1) ?? max
    return { kind: 'linear', ticks, at: (value) => value / top }
  }
  const ticks = logTicks(min, max, length)
  const bottom = Math.log10(ticks[0] ?? min)
  const span = Math.log10(ticks.at(-1) ?? max) - bottom
  return { kind: 'log', ticks, at: (value) => (Math.log10(value) - bottom) / span }
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR
// Steps a clock is read in.
const TIME_STEPS = [1, 2, 5, 10, 15, 30].map((s) => s * SECOND).concat([1, 2, 5, 10, 15, 30].map((m) => m * MINUTE), [1, 2, 3, 6, 12].map((h) => h * HOUR), [1, 2, 7, 14, 28].map((d) => d * DAY))

/**
 * The round step of time (1 s … 30 s, 1 min … 30 min, 1 h … 12 h, days, weeks) that cuts `span`
 * milliseconds into about `count` parts.
 * @param {number} span
 * @param {number} count
 * @returns {number}
 */
export function timeStep (span, count) {
  const rough = span / count
  return TIME_STEPS.find((step) => step >= rough) ?? DAY * niceStep(rough / DAY, 1)
}

/**
 * Where a timeline's axis ends, in milliseconds since the build started: at `elapsed` once the
 * build ended; while it runs, at the round step after now, so the bars grow into the axis and it
 * is redrawn only when they reach its end.
 * @param {number} elapsed
 * @param {boolean} running
 * @returns {number}
 */
export function timelineEnd (elapsed, running) {
  if (!running) return Math.max(1, elapsed)
  const step = timeStep(elapsed, 4)
  return (Math.floor(elapsed / step) + 1) * step
}

/**
 * Round durations from 0 to at most `end` milliseconds, about `count` apart: a timeline's ticks.
 * @param {number} end
 * @param {number} count
 * @returns {number[]}
 */
export function durationTicks (end, count) {
  const step = timeStep(end, count)
  return Array.from({ length: Math.floor(end / step) + 1 }, (_, i) => i * step)
}

/**
 * Round moments between `first` and `last` (epoch milliseconds), about `count` of them: whole
 * minutes, hours or midnights of the reader's clock, `offset` milliseconds ahead of UTC.
 * @param {number} first
 * @param {number} last
 * @param {number} count
 * @param {number} offset
 * @returns {{ step: number, ticks: number[] }}
 */
export function timeTicks (first, last, count, offset) {
  const step = timeStep(Math.max(1, last - first), count)
  // Weeks and longer start on any midnight: a week's step counted from 1970 would start on Thursdays.
  const unit = Math.min(step, DAY)
  const start = Math.ceil((first + offset) / unit) * unit - offset
  const ticks = []
  for (let tick = start; tick <= last; tick += step) ticks.push(tick)
  return { step, ticks }
}
