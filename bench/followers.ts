// Many followers of one build on one API process: the Redis connections the process holds while
// 1,000 follows are open, and how soon each of them sees each line.
//
// A real API process (no worker: the build stays queued) is followed over real HTTP, half of the
// followers as Server-Sent Events and half as `?follow=true` text. The build's log is written
// exactly as a worker writes it (openLogWriter, which batches lines for up to 20 ms), on a thread
// of its own (bench/followers-writer.ts), each line carrying the time it was handed to the writer;
// a follower's latency for a line is when it received the line minus that time, on this
// machine's one clock. The API's connections are the clients named after its prefix in CLIENT LIST.
import { once } from 'node:events'
import { Agent, get, type IncomingMessage } from 'node:http'
import { Worker } from 'node:worker_threads'
import { Redis } from 'ioredis'
import { sseEvents } from '../src/cli/sse.js'
import { TEST_ADMIN_TOKEN } from '../test/helpers/config.js'
import { milliseconds, percentile, type Row, type Section } from './report.js'
import { STAMPED, type WriterJob } from './followers-writer.js'
import { postBuild, startSlipway } from './slipway.js'

const FOLLOWERS = 1000
const LINES = 200
const LINE_INTERVAL_MS = 50
const TARGETS = { connections: 5, p99Ms: 100 }

interface Follower {
  /** Each line's number and latency in ms, in the order received. */
  lines: { n: number; latencyMs: number }[]
  ended: Promise<void>
}

export const followersSection: Section = {
  name: 'followers',
  summary: `${FOLLOWERS.toLocaleString('en')} followers of one build on one API process: its Redis connections, and line latency (p50 / p99)`,
  async run ({ scope, progress }) {
    const slipway = await startSlipway(scope, {
      worker: false,
      // The quota and rate limit stay on; they are only set above what the bench opens.
      config: { rateLimitPerMinute: 100_000_000, quotaLogFollowers: FOLLOWERS * 2 }
    })
    const redis = new Redis(slipway.config.redisUrl)
    scope.teardown(() => redis.quit())
    const apiConnections = async () => {
      const clients = String(await redis.call('CLIENT', 'LIST')).split('\n')
      return clients.filter((client) => client.includes(` name=${slipway.config.prefix}:api`)).length
    }
    const build = await postBuild(slipway.api, { repo: 'https://git.example.com/team/app.git' })
    const job: WriterJob = { redisUrl: slipway.config.redisUrl, prefix: slipway.config.prefix, buildId: build.id, lines: LINES, intervalMs: LINE_INTERVAL_MS }
    const writer = new Worker(new URL('./followers-writer.js', import.meta.url), { workerData: job })
    scope.teardown(() => writer.terminate())
    const written = once(writer, 'exit')
    await once(writer, 'message')
    const before = await apiConnections()

    progress(`opening ${FOLLOWERS} follows over HTTP`)
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity })
    scope.teardown(() => agent.destroy())
    const followers: Follower[] = []
    const ready: Promise<void>[] = []
    for (let i = 0; i < FOLLOWERS; i++) {
      const opened = follow(`${slipway.api}/v1/builds/${build.id}/logs`, i % 2 === 0 ? 'sse' : 'text', agent)
      followers.push(opened.follower)
      ready.push(opened.firstLine)
    }
    await Promise.all(ready)
    const during = await apiConnections()

    progress(`writing ${LINES} lines, one every ${LINE_INTERVAL_MS} ms`)
    writer.postMessage('go')
    await written
    await Promise.all(followers.map((follower) => follower.ended))

    const latencies = followers.flatMap((follower) => follower.lines.filter((line) => line.n > 0).map((line) => line.latencyMs))
    const expected = Array.from({ length: LINES + 1 }, (_, n) => n).join()
    const wrong = followers.filter((follower) => follower.lines.map((line) => line.n).join() !== expected).length
    const p99 = percentile(latencies, 99)
    const rows: Row[] = [
      {
        figure: `Redis connections of the API process, ${FOLLOWERS.toLocaleString('en')} followers open (idle)`,
        slipway: `${during} (${before})`,
        reference: `${before + FOLLOWERS} (one per follower, before the log hub)`,
        target: `<= ${TARGETS.connections}`,
        met: during <= TARGETS.connections
      },
      {
        figure: `line latency, writer to ${FOLLOWERS.toLocaleString('en')} followers, a line every ${LINE_INTERVAL_MS} ms (p50 / p99 of ${latencies.length.toLocaleString('en')})`,
        slipway: `${milliseconds(percentile(latencies, 50))} / ${milliseconds(p99)}`,
        reference: '',
        target: `p99 < ${TARGETS.p99Ms} ms`,
        met: p99 < TARGETS.p99Ms
      },
      {
        figure: 'followers that missed, repeated or reordered a line',
        slipway: String(wrong),
        reference: '',
        target: '0',
        met: wrong === 0
      }
    ]
    return rows
  }
}

/** One follow over HTTP, SSE or text; resolves `firstLine` once it has received a line. */
function follow (url: string, as: 'sse' | 'text', agent: Agent): { follower: Follower; firstLine: Promise<void> } {
  const lines: Follower['lines'] = []
  let first!: () => void
  const firstLine = new Promise<void>((resolve) => (first = resolve))
  const receive = (text: string) => {
    const match = STAMPED.exec(text)
    if (!match) return
    lines.push({ n: Number(match[1]), latencyMs: Date.now() - Number(match[2]) })
    first()
  }
  const ended = new Promise<void>((resolve, reject) => {
    const headers = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(as === 'sse' ? { accept: 'text/event-stream' } : {}) }
    get(`${url}${as === 'text' ? '?follow=true' : ''}`, { agent, headers }, (response: IncomingMessage) => {
      if (response.statusCode !== 200) return reject(new Error(`a follow answered ${response.statusCode}`))
      const reading = as === 'sse' ? readSse(response, receive) : readText(response, receive)
      reading.then(resolve, reject)
    }).on('error', reject)
  })
  return { follower: { lines, ended }, firstLine }
}

async function readSse (response: IncomingMessage, receive: (text: string) => void): Promise<void> {
  for await (const event of sseEvents(response)) {
    if (event.event === 'log') receive((JSON.parse(event.data) as { text: string }).text)
    if (event.event === 'end') return
  }
}

async function readText (response: IncomingMessage, receive: (text: string) => void): Promise<void> {
  let buffer = ''
  for await (const chunk of response.setEncoding('utf8')) {
    buffer += chunk as string
    let end: number
    while ((end = buffer.indexOf('\n')) !== -1) {
      receive(buffer.slice(0, end))
      buffer = buffer.slice(end + 1)
    }
  }
}
