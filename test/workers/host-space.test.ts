import { pino } from 'pino'
import { Registry } from 'prom-client'
import t, { type Test } from 'tap'
import { registerHostMetrics } from '../../src/metrics/worker-metrics.js'
import { startHostSpace } from '../../workers/host-space.js'

const GiB = 1024 ** 3

/** A Docker Engine that records the prunes asked of it; `freed` says what each frees. */
function fakeEngine (freed: { cache: number; images: number }, onPrune: () => void = () => undefined) {
  const prunes: string[] = []
  const docker = {
    modem: {
      dial (options: { path: string; options: Record<string, number> }, done: (error: Error | null, data: unknown) => void) {
        prunes.push(`build cache keep ${options.options['keep-storage']}`)
        onPrune()
        done(null, { SpaceReclaimed: freed.cache })
      }
    },
    pruneImages: async (options: { filters: string }) => {
      prunes.push(`images ${options.filters}`)
      onPrune()
      return { SpaceReclaimed: freed.images }
    }
  }
  return { docker: docker as never, prunes }
}

function setUp (t: Test, options: { free: () => number; freed?: { cache: number; images: number }; onPrune?: () => void; buildCacheMaxBytes?: number; diskMinFreeBytes?: number }) {
  const engine = fakeEngine(options.freed ?? { cache: 0, images: 0 }, options.onPrune)
  const intake: string[] = []
  const metrics = new Registry()
  const space = startHostSpace({
    docker: engine.docker,
    logger: pino({ level: 'silent' }),
    metrics: registerHostMetrics(metrics),
    buildCacheMaxBytes: options.buildCacheMaxBytes ?? 10 * GiB,
    diskMinFreeBytes: options.diskMinFreeBytes ?? 5 * GiB,
    intake: {
      pause: async () => {
        intake.push('pause')
      },
      resume: async () => {
        intake.push('resume')
      }
    },
    probe: async () => options.free(),
    // Checks only when the test asks.
    checkIntervalMs: 3_600_000
  })
  t.teardown(() => space.stop())
  return { ...engine, intake, space, metrics }
}

t.test('over the watermark nothing is pruned and builds are taken', async (t) => {
  const { prunes, intake, space } = setUp(t, { free: () => 50 * GiB })
  await space.check()
  t.same(prunes, [])
  t.same(intake, [])
  t.equal(space.paused(), null)
})

t.test('under it the worker prunes first, and takes builds on when that was enough', async (t) => {
  let free = 1 * GiB
  const { prunes, intake, space } = setUp(t, { free: () => free, onPrune: () => (free = 50 * GiB) })
  await space.check()
  t.match(prunes, ['build cache keep 0', /^images .*"dangling":\["true"\].*"until":\["3600s"\]/])
  t.same(intake, [], 'not paused: the prune made room')
  t.equal(space.paused(), null)
})

t.test('still short after pruning, it takes no builds until space returns, and says why', async (t) => {
  let free = 1 * GiB
  const { intake, space, metrics, prunes } = setUp(t, { free: () => free })
  await space.check()
  t.same(intake, ['pause'])
  t.match(space.paused(), /1.07 GB free, under the 5.37 GB .*SLIPWAY_DISK_MIN_FREE_BYTES/)
  t.match(await metrics.getSingleMetricAsString('slipway_worker_paused'), 'slipway_worker_paused{reason="disk"} 1')
  t.match(await metrics.getSingleMetricAsString('slipway_disk_free_bytes'), `slipway_disk_free_bytes ${GiB}`)

  await space.check()
  t.same(intake, ['pause'], 'paused once')
  t.equal(prunes.length, 2, 'no prune again while paused')

  free = 6 * GiB
  await space.check()
  t.same(intake, ['pause', 'resume'])
  t.equal(space.paused(), null)
  t.match(await metrics.getSingleMetricAsString('slipway_worker_paused'), 'slipway_worker_paused{reason="disk"} 0')
})

t.test('a free space that cannot be measured changes nothing; 0 turns the watermark off', async (t) => {
  const off = setUp(t, { free: () => 0, diskMinFreeBytes: 0 })
  await off.space.check()
  t.same([off.intake, off.prunes], [[], []])
})

t.test('after builds the build cache is pruned to its budget, at most every 5 minutes; 0 never prunes it', async (t) => {
  const { prunes, space } = setUp(t, { free: () => 50 * GiB, buildCacheMaxBytes: 3 * GiB })
  space.afterBuild()
  space.afterBuild()
  await new Promise((resolve) => setImmediate(resolve))
  t.same(prunes, [`build cache keep ${3 * GiB}`])

  const never = setUp(t, { free: () => 50 * GiB, buildCacheMaxBytes: 0 })
  never.space.afterBuild()
  await new Promise((resolve) => setImmediate(resolve))
  t.same(never.prunes, [])
})
