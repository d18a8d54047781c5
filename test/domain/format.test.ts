import t from 'tap'
import { formatByteChange, formatBytes, formatDuration } from '../../src/domain/format.js'

t.test('formatDuration', async (t) => {
  const cases: [number, string][] = [
    [0, '0 ms'],
    [850, '850 ms'],
    [1000, '1 s'],
    [45_400, '45 s'],
    [59_600, '1 min'],
    [72_400, '1 min 12 s'],
    [600_000, '10 min'],
    [3_599_000, '59 min 59 s'],
    [3_600_000, '1 h'],
    [7_500_000, '2 h 5 min'],
    [86_400_000, '24 h']
  ]
  for (const [ms, text] of cases) t.equal(formatDuration(ms), text, `${ms} ms`)
})

t.test('formatBytes', async (t) => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1 kB'],
    [12_345, '12.3 kB'],
    [5_340_000, '5.34 MB'],
    [176_000_000, '176 MB'],
    [176_400_000, '176 MB'],
    [999_999, '1 MB'],
    [1_234_567_890, '1.23 GB']
  ]
  for (const [bytes, text] of cases) t.equal(formatBytes(bytes), text, `${bytes} bytes`)
})

t.test('formatBytes keeps the sign of a size that shrank; formatByteChange always shows one', async (t) => {
  t.equal(formatBytes(-2_100_000), '-2.1 MB')
  t.equal(formatByteChange(2_100_000), '+2.1 MB')
  t.equal(formatByteChange(-512_000), '-512 kB')
  t.equal(formatByteChange(0), '+0 B')
})
