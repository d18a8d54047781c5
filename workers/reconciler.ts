import { endBuild, queueExpired, workerLost, type EndingContext } from '../src/services/build-ending.js'
import type { BuildQueue } from '../src/storage/build-queue.js'
import type { BuildStore } from '../src/storage/build-store.js'

interface ReconcilerDeps extends EndingContext {
  store: BuildStore
  queue: BuildQueue
  logger: { warn(details: object, message: string): void }
}

// A running build's job in one of these is still on its way; in any other, no worker will end it.
const LIVE_JOB_STATES = new Set(['active', 'waiting', 'prioritized', 'delayed', 'waiting-children'])

/**
 * Keeps every accepted build on its way to one terminal state whatever died: a build queued past
 * its time to live ends QUEUE_EXPIRED, a queued build with no job (its API died before enqueueing)
 * is enqueued, and a running build whose job is gone ends WORKER_LOST. Every worker runs one;
 * every change is a compare-and-set, so running several at once is harmless.
 */
export function startReconciler (deps: ReconcilerDeps, options: { intervalMs: number; queueTtlSeconds: number }) {
  async function reconcile (): Promise<void> {
    for (const id of await deps.store.idsByStatus('queued')) {
      const build = await deps.store.get(id)
      if (build?.status !== 'queued') continue
      if (Date.now() - Date.parse(build.createdAt) > options.queueTtlSeconds * 1000) {
        if (await endBuild(deps, id, { from: ['queued'], to: 'failed', error: queueExpired(options.queueTtlSeconds) })) await deps.queue.remove(id)
      } else if ((await deps.queue.state(id)) === 'unknown') {
        await deps.queue.enqueue(id, build.request.priority)
      }
    }
    for (const id of await deps.store.idsByStatus('running')) {
      const build = await deps.store.get(id)
      if (build?.status !== 'running' || LIVE_JOB_STATES.has(await deps.queue.state(id))) continue
      deps.logger.warn({ buildId: id }, 'a running build has no job left: its workers were lost')
      await endBuild(deps, id, { from: ['running'], to: 'failed', error: workerLost(build.attempts) })
    }
  }

  let pass: Promise<void> = Promise.resolve()
  const timer = setInterval(() => {
    pass = pass.then(reconcile).catch((error: unknown) => deps.logger.warn({ err: error }, 'reconciling builds failed; trying again later'))
  }, options.intervalMs)
  return {
    async stop () {
      clearInterval(timer)
      await pass
    }
  }
}
