import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { decodeLogEntry } from '../../src/storage/build-log.js'
import { redisKeys } from '../../src/storage/keys.js'
import { TERMINAL_STATUSES, type Build } from '../../src/domain/schemas/build.js'
import { buildApp } from '../helpers/app.js'
import { testConfig } from '../helpers/config.js'
import { registryDigest } from '../helpers/docker.js'
import { createRepo } from '../helpers/git-repo.js'
import { startSlipwayProcess } from '../helpers/processes.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { startRegistry } from '../helpers/registry.js'

// 50 builds while faults strike at random: workers killed with SIGKILL, Redis stopped and started
// (it keeps an append-only file, as production does), the registry taken away mid-push. Then a
// history check: every accepted build has exactly one terminal state, explained by an error code
// when it is not a success; no success without a pushed digest; no build with two digests.

const BUILDS = 50
const SEED = Number(process.env.SLIPWAY_FAULT_SEED ?? Date.now() % 1_000_000)

/** A small seeded PRNG (mulberry32), so a failing schedule can be replayed with SLIPWAY_FAULT_SEED. */
function random (seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test(`${BUILDS} builds under random faults: none lost, none stuck, one end each (seed ${SEED})`, async (t) => {
  const next = random(SEED)
  const redisServer = await startRedisServer(t)
  const registry = await startRegistry(t)
  const config = testConfig(t, { redisUrl: redisServer.url, stallSeconds: 4, maxAttempts: 3, concurrency: 2, shutdownGraceSeconds: 1 })
  const app = await buildApp(t, config)
  const workers = [await startSlipwayProcess(t, config, 'worker'), await startSlipwayProcess(t, config, 'worker')]
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nARG NONCE\nRUN echo "$NONCE" > /nonce && sleep 1\n' })

  // A client as CI would be: each build sent until accepted, with one Idempotency-Key. A build
  // not accepted within a minute, or a fault that could not be injected, ends the test at once,
  // saying why, rather than letting it run into tap's timeout.
  const accepted: string[] = []
  const faults: string[] = []
  let faultFailed: Error | null = null
  const submit = async (n: number) => {
    const key = randomUUID()
    const deadline = Date.now() + 60_000
    for (;;) {
      if (faultFailed) throw faultFailed
      const response = await app.inject({
        method: 'POST',
        url: '/v1/builds',
        headers: { 'idempotency-key': key },
        payload: { repo: repo.url, image: `${registry.host}/faults/app`, tags: [`b${n}`], buildArgs: { NONCE: key } }
      })
      if (response.statusCode === 202) return accepted.push(response.json<Build>().id)
      if (Date.now() > deadline) throw new Error(`build ${n} not accepted within a minute; last answer ${response.statusCode}: ${response.body} (faults so far: ${faults.join('; ')})`)
      await sleep(200)
    }
  }
  const submitting = (async () => {
    for (let n = 0; n < BUILDS; n++) {
      await submit(n)
      await sleep(next() * 400)
    }
  })()

  let injecting = true
  const injecting$ = (async () => {
    while (injecting) {
      await sleep(2000 + next() * 3000)
      if (!injecting) break
      const kind = next()
      if (kind < 0.45) {
        const index = Math.floor(next() * workers.length)
        faults.push(`SIGKILL worker ${workers[index]!.pid}`)
        workers[index]!.kill('SIGKILL')
        await sleep(500)
        workers[index] = await startSlipwayProcess(t, config, 'worker')
      } else if (kind < 0.75) {
        faults.push('Redis stopped for 2 s')
        await redisServer.stop()
        await sleep(2000)
        await redisServer.start()
      } else {
        faults.push('registry stopped for 3 s')
        await registry.stop()
        await sleep(3000)
        await registry.start()
      }
    }
  })().catch((error: unknown) => {
    faultFailed = error instanceof Error ? error : new Error(String(error))
  })

  await submitting
  await sleep(10_000)
  injecting = false
  await injecting$
  const failed = faultFailed as Error | null
  if (failed) throw failed
  t.comment(`faults: ${faults.join('; ')}`)

  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const keys = redisKeys(config.prefix)
  const deadline = Date.now() + 240_000
  let builds: Build[] = []
  for (;;) {
    builds = await Promise.all(accepted.map(async (id) => (await app.inject({ method: 'GET', url: `/v1/builds/${id}` })).json<Build>()))
    if (builds.every((build) => TERMINAL_STATUSES.includes(build.status)) || Date.now() > deadline) break
    await sleep(1000)
  }

  t.equal(accepted.length, BUILDS, 'every build was accepted')
  const stuck = builds.filter((build) => !TERMINAL_STATUSES.includes(build.status))
  t.same(stuck.map((build) => `${build.id} ${build.status}`), [], 'none stuck')
  for (const build of builds) {
    const terminalEvents = (await redis.xrange(keys.log(build.id), '-', '+'))
      .map(([id, fields]) => decodeLogEntry(id, fields))
      .filter((event) => event.kind === 'status' && TERMINAL_STATUSES.includes(event.status))
    t.equal(terminalEvents.length, 1, `${build.id}: one terminal state (${build.status})`)
    if (build.status === 'succeeded') {
      t.match(build.image?.digest, /^sha256:/, `${build.id}: succeeded with a pushed digest`)
      const tag = build.image!.tags[0]!.split(':').pop()!
      t.equal(await registryDigest(registry.host, 'faults/app', tag), build.image?.digest, `${build.id}: the registry holds that digest, and only it`)
    } else {
      t.ok(build.error?.code, `${build.id}: ${build.status} is explained (${build.error?.code}: ${build.error?.message})`)
    }
  }
  const tally = builds.reduce<Record<string, number>>((counts, build) => {
    const key = build.status === 'succeeded' ? 'succeeded' : `${build.status} ${build.error?.code}`
    counts[key] = (counts[key] ?? 0) + 1
    return counts
  }, {})
  t.comment(`outcomes: ${JSON.stringify(tally)}`)
})
