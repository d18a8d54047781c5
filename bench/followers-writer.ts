// The build log writer of bench/followers.ts, on a thread of its own, as a build worker is a
// process of its own: its flush timer must not wait behind the followers' reading on the bench's
// thread. It writes line 0, and once told to go, the timed lines and the build's end.
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { parentPort, workerData } from 'node:worker_threads'
import { Redis } from 'ioredis'
import { openLogWriter } from '../src/storage/build-log.js'
import { redisKeys } from '../src/storage/keys.js'

export interface WriterJob {
  redisUrl: string
  prefix: string
  buildId: string
  lines: number
  intervalMs: number
}

/** A line's text: its number and the time it was handed to the log writer. */
const stamped = (n: number) => `line ${n} at ${Date.now()}`
/** A line as stamped() wrote it: its number, and the time in ms. */
export const STAMPED = /^line (\d+) at (\d+)$/

if (parentPort) {
  const job = workerData as WriterJob
  const redis = new Redis(job.redisUrl)
  const log = await openLogWriter(redis, redisKeys(job.prefix), job.buildId, { maxBytes: 64 * 1024 * 1024, redact: (text) => text })
  log.write('build', 'stdout', stamped(0))
  await log.flush()
  parentPort.postMessage('ready')
  await once(parentPort, 'message')
  for (let n = 1; n <= job.lines; n++) {
    log.write('build', 'stdout', stamped(n))
    await sleep(job.intervalMs)
  }
  log.status('succeeded', null)
  await log.close()
  await redis.quit()
}
