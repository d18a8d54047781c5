import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AddressInfo } from 'node:net'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { Config } from '../../../../src/domain/config.js'
import type { Build } from '../../../../src/domain/schemas/build.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { tarGz } from '../../../helpers/tarball.js'

// Quotas as a hostile token meets them: floods against the API over real HTTP, on real Redis and
// without a worker (builds stay queued). Past a quota the answer is 429 QUOTA_EXCEEDED naming the
// quota, its limit and its setting, nothing is stored or queued, and other tokens go on as before.

interface Replica {
  url: string
}

async function setup (t: Test, overrides: Partial<Config>, replicas = 1) {
  const config = testConfig(t, { rateLimitPerMinute: 100_000, ...overrides })
  const apps = []
  for (let i = 0; i < replicas; i++) {
    const app = await buildApp(t, config)
    await app.listen({ host: '127.0.0.1', port: 0 })
    apps.push({ url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` })
  }
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const queue = new Queue('builds', { connection: { url: config.redisUrl }, prefix: config.prefix })
  t.teardown(() => queue.close())
  const [first] = apps as [Replica]
  const token = async (name: string): Promise<string> => {
    const response = await fetch(`${first.url}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, scopes: ['builds:read', 'builds:write'] })
    })
    return ((await response.json()) as { token: string }).token
  }
  const queued = async () => {
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed')
    return Object.values(counts).reduce((sum, n) => sum + n, 0)
  }
  return { config, apps, first, redis, token, queued }
}

const bearer = (token: string, headers: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...headers })

/** A build request no other one is identical to. */
const distinct = (n: number) => ({ repo: 'https://git.example.com/team/app.git', ref: 'main', buildArgs: { N: String(n) } })

async function post (base: string, token: string, body: object, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/v1/builds`, { method: 'POST', headers: bearer(token, { 'content-type': 'application/json', ...headers }), body: JSON.stringify(body) })
  return { status: response.status, headers: response.headers, body: (await response.json()) as Build & { code?: string; message?: string } }
}

t.test('builds queued or running at once, per token: a flood of 30 admits exactly 5, and other tokens go on', async (t) => {
  const { first, redis, config, token, queued } = await setup(t, { quotaActiveBuilds: 5 })
  const flooder = await token('flooder')
  const bystander = await token('bystander')

  const flood = await Promise.all(Array.from({ length: 30 }, (_, n) => post(first.url, flooder, distinct(n), { 'idempotency-key': `flood-${n}` })))
  const admitted = flood.filter((answer) => answer.status === 202)
  const refused = flood.filter((answer) => answer.status === 429)
  t.equal(admitted.length, 5, 'exactly the limit is admitted')
  t.equal(refused.length, 25, 'the rest are refused')
  for (const answer of refused) {
    t.equal(answer.body.code, 'QUOTA_EXCEEDED')
    t.match(answer.body.message, /builds queued or running/)
    t.match(answer.body.message, /\b5\b/)
    t.match(answer.body.message, /SLIPWAY_QUOTA_ACTIVE_BUILDS/)
  }
  t.equal(await queued(), 5, 'nothing refused was queued')
  t.equal(await redis.zcard(`${config.prefix}:idx:builds`), 5, 'nothing refused was stored')

  const other = await post(first.url, bystander, distinct(1000))
  t.equal(other.status, 202, 'another token still submits')
  t.equal((await fetch(`${first.url}/v1/builds`, { headers: bearer(bystander) })).status, 200, 'and lists')

  // Joining an identical build and replaying an Idempotency-Key make no new build: neither counts.
  const index = flood.findIndex((answer) => answer.status === 202)
  const joined = await post(first.url, flooder, distinct(index))
  t.equal(joined.status, 202, 'an identical request joins its build at the limit')
  t.equal(joined.headers.get('slipway-joined'), 'true')
  const replayed = await post(first.url, flooder, distinct(index), { 'idempotency-key': `flood-${index}` })
  t.equal(replayed.status, 202, 'a replay gets its build at the limit')
  t.equal(replayed.headers.get('idempotent-replayed'), 'true')
  t.equal((await post(first.url, flooder, distinct(2000))).status, 429, 'still at the limit')

  // An ended build leaves the count, however it ended: canceled over the API, ended by anything
  // else that sets its status, or gone.
  const [a, b, c] = admitted.map((answer) => answer.body.id) as [string, string, string]
  t.equal((await fetch(`${first.url}/v1/builds/${a}/cancel`, { method: 'POST', headers: bearer(flooder) })).status, 202)
  t.equal((await post(first.url, flooder, distinct(3000))).status, 202, 'a canceled build frees its place')
  t.equal((await post(first.url, flooder, distinct(3001))).status, 429)
  await redis.hset(`${config.prefix}:build:{${b}}`, 'status', 'succeeded')
  t.equal((await post(first.url, flooder, distinct(3002))).status, 202, 'so does a build ended behind the API')
  await redis.del(`${config.prefix}:build:{${c}}`)
  t.equal((await post(first.url, flooder, distinct(3003))).status, 202, 'and one that is gone')

  const retried = await fetch(`${first.url}/v1/builds/${a}/retry`, { method: 'POST', headers: bearer(flooder) })
  t.equal(retried.status, 429, 'a retry is a new build and counts')
  t.equal(((await retried.json()) as { code: string }).code, 'QUOTA_EXCEEDED')
})

/** Opens a live follow, closed at the test's end; resolves once the API has answered (the follower is then counted). */
async function openFollow (t: Test, base: string, token: string, buildId: string, sse = true) {
  const abort = new AbortController()
  t.teardown(() => abort.abort())
  const url = `${base}/v1/builds/${buildId}/logs${sse ? '' : '?follow=true'}`
  // A plain follow answers its headers with its first line; one admitted without any is still waiting (0).
  const answered = fetch(url, { headers: bearer(token, sse ? { accept: 'text/event-stream' } : {}), signal: abort.signal })
  const response = await Promise.race([answered, sleep(2000).then(() => null)])
  const body = response === null || response.status === 200 ? null : ((await response.json()) as { code: string; message: string })
  return { status: response?.status ?? 0, body, close: () => abort.abort() }
}

t.test('log followers at once, per token, counted across API processes', async (t) => {
  const { apps, token } = await setup(t, { quotaLogFollowers: 3 }, 2)
  const [a, b] = apps as [Replica, Replica]
  const watcher = await token('watcher')
  const bystander = await token('bystander')
  const build = (await post(a.url, bystander, distinct(1))).body

  const open = [await openFollow(t, a.url, watcher, build.id), await openFollow(t, a.url, watcher, build.id), await openFollow(t, b.url, watcher, build.id)]
  t.same(open.map((follow) => follow.status), [200, 200, 200])
  for (const [name, replica, sse] of [['SSE on A', a, true], ['SSE on B', b, true], ['follow=true on B', b, false]] as const) {
    const refused = await openFollow(t, replica.url, watcher, build.id, sse)
    t.equal(refused.status, 429, `${name}: a fourth follower is refused`)
    t.equal(refused.body?.code, 'QUOTA_EXCEEDED')
    t.match(refused.body?.message, /log followers/)
    t.match(refused.body?.message, /\b3\b/)
    t.match(refused.body?.message, /SLIPWAY_QUOTA_LOG_FOLLOWERS/)
  }
  const other = await openFollow(t, b.url, bystander, build.id)
  t.equal(other.status, 200, 'another token still follows')
  other.close()
  t.equal((await fetch(`${a.url}/v1/builds/${build.id}/logs`, { headers: bearer(watcher) })).status, 200, 'reading without following is not limited')

  // A follower that goes away gives its place back.
  open[1]!.close()
  let again = await openFollow(t, b.url, watcher, build.id)
  for (let i = 0; again.status === 429 && i < 50; i++) {
    await sleep(100)
    again = await openFollow(t, b.url, watcher, build.id)
  }
  t.equal(again.status, 200, 'a closed follow frees its place')
})

/** A gzipped tar of about `kib` KiB that does not compress. */
const tarOf = (kib: number) => tarGz([{ name: 'Dockerfile', content: 'FROM busybox\n' }, { name: 'blob', content: randomBytes(kib * 1024) }])

async function upload (base: string, token: string, body: Buffer) {
  const response = await fetch(`${base}/v1/builds`, { method: 'POST', headers: bearer(token, { 'content-type': 'application/gzip' }), body })
  return { status: response.status, body: (await response.json()) as Build & { code?: string; message?: string } }
}

t.test('upload bytes waiting in Redis, per token: refused past the allowance, nothing stored, freed when the upload leaves', async (t) => {
  const { first, redis, config, token } = await setup(t, { quotaUploadBytes: 100 * 1024 })
  const storedBytes = async () => {
    let total = 0
    for (const key of await redis.keys(`${config.prefix}:build:*:source`)) total += await redis.strlen(key)
    return total
  }
  const uploader = await token('uploader')
  const bystander = await token('bystander')
  // Each tar differs: an identical one would join the build of the first.
  const tars = await Promise.all(Array.from({ length: 20 }, () => tarOf(40)))
  const one = await upload(first.url, uploader, tars[0]!)
  t.equal(one.status, 202)
  t.equal((await upload(first.url, uploader, tars[1]!)).status, 202)
  const third = await upload(first.url, uploader, tars[2]!)
  t.equal(third.status, 429, 'a third 40 KiB upload does not fit in 100 KiB')
  t.equal(third.body.code, 'QUOTA_EXCEEDED')
  t.match(third.body.message, /upload/)
  t.match(third.body.message, /100 KiB|102400/)
  t.match(third.body.message, /SLIPWAY_QUOTA_UPLOAD_BYTES/)
  t.equal(await storedBytes(), tars[0]!.length + tars[1]!.length, 'nothing of the refused upload is stored')
  t.equal((await upload(first.url, bystander, tars[3]!)).status, 202, 'another token still uploads')

  // A body the allowance cannot hold is refused from its declared length, before it is read.
  const early = await new Promise<number>((resolve, reject) => {
    const request = httpRequest(`${first.url}/v1/builds`, {
      method: 'POST',
      headers: bearer(uploader, { 'content-type': 'application/gzip', 'content-length': String(tars[5]!.length) })
    })
    request.on('response', (response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    request.on('error', reject)
    request.write(tars[5]!.subarray(0, 1024))
    setTimeout(() => reject(new Error('no answer while the body was still being sent')), 3000).unref()
  })
  t.equal(early, 429, 'answered before the body was sent')

  // Its build ended: its upload left Redis, and its bytes with it.
  t.equal((await fetch(`${first.url}/v1/builds/${one.body.id}/cancel`, { method: 'POST', headers: bearer(uploader) })).status, 202)
  t.equal((await upload(first.url, uploader, tars[4]!)).status, 202, 'the allowance came back')

  // A concurrent flood: no more bytes wait than the quota allows.
  const flooder = await token('flooder')
  const before = await storedBytes()
  const flood = await Promise.all(tars.slice(10).map((body) => upload(first.url, flooder, body)))
  t.equal(flood.filter((answer) => answer.status === 202).length, 2, 'two of ten fit')
  t.ok(flood.filter((answer) => answer.status !== 202).every((answer) => answer.status === 429 && answer.body.code === 'QUOTA_EXCEEDED'))
  const admittedBytes = flood.filter((answer) => answer.status === 202).reduce((sum, answer) => sum + answer.body.request.source!.sizeBytes, 0)
  t.equal((await storedBytes()) - before, admittedBytes, 'and only theirs are stored')
})
