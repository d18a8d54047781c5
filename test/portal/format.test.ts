import t from 'tap'
import { ago } from '../../src/portal/format.js'

// Relative times as the builds list shows them: as precise as a glance needs, never "0 ms ago".

t.test('ago: seconds, minutes, hours and minutes, days, then the date', async (t) => {
  const now = Date.parse('2026-03-10T12:00:00.000Z')
  const before = (ms: number) => new Date(now - ms).toISOString()
  t.equal(ago(before(400), now), '0 s ago')
  t.equal(ago(before(59_900), now), '59 s ago')
  t.equal(ago(before(3 * 60_000 + 40_000), now), '3 min ago', 'minutes, rounded down')
  t.equal(ago(before(2 * 3_600_000), now), '2 h ago')
  t.equal(ago(before(2 * 3_600_000 + 5 * 60_000 + 59_000), now), '2 h 5 min ago')
  t.equal(ago(before(26 * 3_600_000), now), '1 day ago')
  t.equal(ago(before(30 * 86_400_000), now), '30 days ago')
  t.not(ago(before(45 * 86_400_000), now), '45 days ago', 'past a month, the date instead')
  t.equal(ago(new Date(now + 5000).toISOString(), now), '0 s ago', 'a clock a little ahead is not in the future')
})
