// What one kept build costs in Redis (docs/operations/retention.md, "Redis memory"): real builds
// through Slipway, a multi-stage Dockerfile whose steps print a few hundred lines, then Redis's
// own MEMORY USAGE (exact, SAMPLES 0) of every key under the run's prefix, grouped by kind.
// Informative figures, with no target: they are what an operator sizes Redis with.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { redisKeys } from '../src/storage/keys.js'
import { createRepo } from '../test/helpers/git-repo.js'
import { keyPages } from '../test/helpers/redis-keys.js'
import { startRegistry } from '../test/helpers/registry.js'
import { percentile, type Row, type Section } from './report.js'
import { postBuild, startSlipway, untilEnded } from './slipway.js'

const BUILDS = 20
const LINES_PER_STEP = 100

// Two stages, four steps that print: about the log of a small real build (a dependency install
// and a compile), and a final image of a few layers.
const DOCKERFILE = `FROM busybox AS build
ARG NONCE
WORKDIR /src
RUN for i in $(seq 1 ${LINES_PER_STEP}); do echo "fetching dependency $i of ${LINES_PER_STEP}: package-$i@1.$i.0 (checksum $NONCE)"; done > /deps.txt && cat /deps.txt
COPY . .
RUN for i in $(seq 1 ${LINES_PER_STEP}); do echo "compiling src/module-$i.c -> build/module-$i.o"; done | tee /build.log
FROM busybox
COPY --from=build /deps.txt /build.log /app/
RUN for i in $(seq 1 ${LINES_PER_STEP}); do echo "checking /app/part-$i"; done
CMD ["cat", "/app/build.log"]
`

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

export const redisMemorySection: Section = {
  name: 'redis',
  summary: `Redis memory per kept build (record, log, indexes, queue), from MEMORY USAGE after ${BUILDS} real builds`,
  async run ({ scope, progress }) {
    const repo = await createRepo(scope, { Dockerfile: DOCKERFILE, 'README.md': 'bench\n' })
    const registry = await startRegistry(scope)
    const { api, config } = await startSlipway(scope, { worker: true, config: { allowLocalRepos: true } })
    const ids: string[] = []
    for (let n = 1; n <= BUILDS; n++) {
      const posted = await postBuild(api, { repo: repo.url, image: `${registry.host}/bench/memory`, tags: [`b${n}`], buildArgs: { NONCE: randomBytes(8).toString('hex') } })
      const build = await untilEnded(api, posted.id)
      if (build.status !== 'succeeded') throw new Error(`redis bench: build ${n} ended ${build.status}: ${JSON.stringify(build.error)}`)
      ids.push(build.id)
      progress(`build ${n} of ${BUILDS} ended`)
    }

    const redis = new Redis(config.redisUrl)
    scope.teardown(() => redis.quit())
    const keys = redisKeys(config.prefix)
    const usage = async (key: string) => Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) || 0
    const byKind = new Map<string, number>()
    for await (const page of keyPages(redis, keys.everything)) {
      for (const key of page) {
        const { kind } = keys.kindOf(key)
        // A worker's report of its host is the installation's, not the builds'.
        if (kind === 'host' || key === keys.hostReports) continue
        byKind.set(kind, (byKind.get(kind) ?? 0) + (await usage(key)))
      }
    }
    const records = await Promise.all(ids.map((id) => usage(keys.build(id))))
    const logs = await Promise.all(ids.map((id) => usage(keys.log(id))))
    const lines = await Promise.all(ids.map((id) => redis.xlen(keys.log(id))))
    const perBuild = (kind: string) => (byKind.get(kind) ?? 0) / BUILDS
    const total = [...byKind.values()].reduce((sum, bytes) => sum + bytes, 0) / BUILDS
    const median = (values: number[]) => percentile(values, 50)
    progress(`bytes per build by kind: ${[...byKind].map(([kind, bytes]) => `${kind} ${kib(bytes / BUILDS)}`).join(', ')}`)

    const row = (figure: string, slipway: string): Row => ({ figure, slipway, reference: '', target: '', met: null })
    return [
      row(`Redis per kept build: record (median of ${BUILDS})`, kib(median(records))),
      row(`Redis per kept build: log of ${median(lines)} entries (median)`, `${kib(median(logs))} (${(median(logs) / median(lines)).toFixed(0)} bytes an entry)`),
      row('Redis per kept build: index entries', kib(perBuild('index'))),
      row('Redis per kept build: queue jobs and their events (BullMQ)', kib(perBuild('queue'))),
      row('Redis per kept build: every key of the installation, divided by builds', kib(total))
    ]
  }
}
