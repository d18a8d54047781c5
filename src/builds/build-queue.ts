import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'

export const BUILD_QUEUE = 'builds'

/** What a build job carries: only the id. The request lives in the build record, never in job data. */
export interface BuildJobData {
  buildId: string
}

/** The API's side of the build queue. Services see this, never bullmq itself. */
export function createBuildQueue(connection: Redis, prefix: string, onError: (error: Error) => void) {
  const queue = new Queue<BuildJobData>(BUILD_QUEUE, { connection, prefix })
  // Connection trouble is reported here (and answered as 503 by the callers), never thrown.
  queue.on('error', onError)
  return {
    async enqueue(buildId: string): Promise<void> {
      // The job id is the build id: enqueueing the same build twice adds one job.
      await queue.add('build', { buildId }, { jobId: buildId, removeOnComplete: true, removeOnFail: { age: 7 * 86_400 } })
    },
    close: () => queue.close()
  }
}

export type BuildQueue = ReturnType<typeof createBuildQueue>
