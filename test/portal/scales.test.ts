import t from 'tap'
import { DAY, durationTicks, linearTicks, logTicks, niceStep, sizeScale, timelineEnd, timeStep, timeTicks } from '../../src/portal/scales.js'
import { formatBytes, formatDuration } from '../../src/domain/format.js'

// The pure part of the portal's charts: which round numbers label an axis, and where a value sits.

const MINUTE = 60_000
const HOUR = 60 * MINUTE

t.test('niceStep: 1, 2 or 5 × 10^n, never below its least', async (t) => {
  t.equal(niceStep(100, 5), 20)
  t.equal(niceStep(800_000_000, 5), 200_000_000)
  t.equal(niceStep(130, 5), 50, '26 rounds up to 50, not down to 20')
  t.equal(niceStep(1000, 1), 1000)
  t.equal(niceStep(3, 5), 1, 'a byte is the least step')
})

t.test('linearTicks: from 0 to the first round value at or above the largest', async (t) => {
  t.same(linearTicks(800_000_000, 5), [0, 200e6, 400e6, 600e6, 800e6])
  t.same(linearTicks(730_000, 5).map(formatBytes), ['0 B', '200 kB', '400 kB', '600 kB', '800 kB'])
  t.same(linearTicks(1, 5), [0, 1])
})

t.test('logTicks: powers of ten around the values, with 2 and 5 between when there is room', async (t) => {
  t.same(logTicks(700_000, 800_000_000, 264).map(formatBytes), [
    '100 kB', '200 kB', '500 kB', '1 MB', '2 MB', '5 MB', '10 MB', '20 MB', '50 MB', '100 MB', '200 MB', '500 MB', '1 GB'
  ])
  t.same(logTicks(700_000, 800_000_000, 100).map(formatBytes), ['100 kB', '1 MB', '10 MB', '100 MB', '1 GB'], 'a short axis: powers of ten only')
  t.same(logTicks(1000, 1000, 264), [1000, 2000, 5000, 10000], 'one value: its decade')
})

t.test('sizeScale: linear from zero for sizes within tenfold, logarithmic beyond, both showing every size', async (t) => {
  const close = sizeScale([300e6, 800e6], 264)
  t.equal(close.kind, 'linear')
  t.equal(close.at(0), 0)
  t.equal(close.at(800e6), 1, 'the largest at the top tick')

  const apart = sizeScale([700_000, 800_000_000, 50_000_000], 264)
  t.equal(apart.kind, 'log')
  t.equal(apart.at(100_000), 0)
  t.equal(apart.at(1_000_000_000), 1)
  const [small, large] = [apart.at(700_000) * 264, apart.at(800_000_000) * 264]
  t.ok(small > 40, `700 kB sits ${small.toFixed(0)} px above the axis' start`)
  t.ok(large < 264 && large - small > 150, `and 800 MB ${(large - small).toFixed(0)} px above it`)
  t.ok(apart.ticks.every((tick) => /^[125]0{0,2} [kMG]?B$/.test(formatBytes(tick))), 'every tick a round size')

  t.equal(sizeScale([0, 5e6], 264).kind, 'linear', 'a size of 0 has no place on a log axis')
})

t.test('time steps: seconds, minutes, hours as a clock is read', async (t) => {
  t.equal(timeStep(40_000, 4), 10_000)
  t.equal(timeStep(9 * MINUTE, 4), 5 * MINUTE)
  t.equal(timeStep(10 * DAY, 4), 7 * DAY)
  t.equal(timeStep(400 * DAY, 4), 100 * DAY, 'beyond four weeks, round numbers of days')
  t.same(durationTicks(95_000, 4).map(formatDuration), ['0 ms', '30 s', '1 min', '1 min 30 s'], 'ticks stop at the end')
})

t.test("timelineEnd: an ended build's own length; a running one's next round step", async (t) => {
  t.equal(timelineEnd(95_000, false), 95_000)
  t.equal(timelineEnd(9_000, true), 10_000)
  t.equal(timelineEnd(10_000, true), 15_000, 'reaching the end moves it on')
  t.equal(timelineEnd(21_000, true), 30_000)
  t.equal(timelineEnd(0, true), 1000)
})

t.test("timeTicks: whole hours or midnights of the reader's clock", async (t) => {
  const offset = 2 * HOUR
  const first = Date.UTC(2026, 11, 4, 9, 17)
  const { step, ticks } = timeTicks(first, first + 5 * HOUR, 5, offset)
  t.equal(step, HOUR)
  t.same(ticks.map((tick) => new Date(tick + offset).toISOString().slice(11, 16)), ['12:00', '13:00', '14:00', '15:00', '16:00'])
  const days = timeTicks(first, first + 20 * DAY, 4, offset)
  t.equal(days.step, 7 * DAY)
  t.ok(days.ticks.every((tick) => new Date(tick + offset).toISOString().endsWith('T00:00:00.000Z')), 'weeks start on a local midnight')
})
