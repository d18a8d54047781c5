import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { withinCloneLimits } from '../../../workers/source/clone-limits.js'

// A mirror keeps what earlier builds fetched: only what one fetch adds is held to the limit.

const MB = 1024 * 1024
const limits = { timeoutMs: 10_000, maxBytes: MB }

t.test('a fetch into a folder that is already larger than the limit is held only to what it adds', async (t) => {
  const dir = t.testdir()
  await writeFile(path.join(dir, 'earlier.pack'), Buffer.alloc(3 * MB))
  const signal = new AbortController().signal

  t.equal(await withinCloneLimits(dir, limits, signal, async () => writeFile(path.join(dir, 'small.pack'), Buffer.alloc(MB / 2)).then(() => 'fetched')), 'fetched')
  await t.rejects(
    withinCloneLimits(dir, limits, signal, async () => writeFile(path.join(dir, 'large.pack'), Buffer.alloc(2 * MB))),
    { code: 'CLONE_TOO_LARGE' }
  )
})
