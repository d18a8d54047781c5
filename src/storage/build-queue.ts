import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Priority } from '../domain/schemas/build.js'

export const BUILD_QUEUE = 'builds'

/** What a build job carries: only the id. The request lives in the build record, never in job data. */
export interface BuildJobData {
  buildId: string
}

// BullMQ keeps an events stream per queue, for QueueEvents listeners, 10,000 entries long by
// default (about 1 MB). Slipway listens to none, so a short one is enough.
export const EVENTS_STREAM = { events: { maxLen: 500 } }

// BullMQ runs lower numbers first; every build gets one, so the three levels order among themselves.
const PRIORITY: Record<Priority, number> = { high: 1, normal: 2, low: 3 }

/** The build queue as the API and the reconciler use it. Services see this, never bullmq itself. */
export function createBuildQueue (connection: Redis, prefix: string, onError: (error: Error) => void) {
  const queue = new Queue<BuildJobData>(BUILD_QUEUE, { connection, prefix, streams: EVENTS_STREAM })
  // Connection trouble is reported here (and answered as 503 by the callers), never thrown.
  queue.on('error', onError)
  return {
    async enqueue (buildId: string, priority: Priority): Promise<void> {
      // The job id is the build id: enqueueing the same build twice adds one job.
      await queue.add(
        'build',
        { buildId },
        { jobId: buildId, priority: PRIORITY[priority], removeOnComplete: true, removeOnFail: { age: 7 * 86_400 } }
      )
    },
    /** Takes a waiting build off the queue; false when a worker already holds it (or it is gone). */
    async remove (buildId: string): Promise<boolean> {
      return (await queue.remove(buildId)) === 1
    },
    /** Whether a job for the build is waiting or being run ("waiting", "active", …, "unknown" when none). */
    state: (buildId: string) => queue.getJobState(buildId),
    /** How many jobs are in each state (waiting, prioritized, active, delayed, …), for metrics. */
    counts: () => queue.getJobCounts(),
    close: () => queue.close()
  }
}

export type BuildQueue = ReturnType<typeof createBuildQueue>
