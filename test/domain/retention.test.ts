import t from 'tap'
import { parseDuration, refGroup, retentionPolicy } from '../../src/domain/retention.js'

t.test('durations are minutes, hours or days', async (t) => {
  t.equal(parseDuration('15m'), 15 * 60_000)
  t.equal(parseDuration('12h'), 12 * 3_600_000)
  t.equal(parseDuration('90d'), 90 * 86_400_000)
  for (const wrong of ['', '90', '0m', '-1d', '1.5h', '30s', '1w', 'd', '07d ', '1 d']) t.equal(parseDuration(wrong), null, JSON.stringify(wrong))
})

t.test('the policy: logs as long as records unless said, never longer', async (t) => {
  t.same(retentionPolicy({ retention: '60m', logRetention: '', retentionKeepLast: 3, auditRetention: '365d' }), {
    recordsMs: 3_600_000,
    logsMs: 3_600_000,
    keepLast: 3,
    auditMs: 365 * 86_400_000
  })
  t.equal(retentionPolicy({ retention: '60m', logRetention: '15m', retentionKeepLast: 3, auditRetention: '1d' }).logsMs, 900_000)
})

t.test('refs group as requested; builds of commits share one group', async (t) => {
  t.equal(refGroup('main'), 'main')
  t.equal(refGroup('refs/tags/v1.2'), 'refs/tags/v1.2')
  t.equal(refGroup(null), 'HEAD')
  t.equal(refGroup('0123456789abcdef0123456789abcdef01234567'), '@commit')
  t.equal(refGroup('0123abc'), '@commit')
})
