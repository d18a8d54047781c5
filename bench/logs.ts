// Live logs, measured end to end on this machine: an API process and a worker process on real
// Redis and Docker, and an SSE client here. Prints a table; run with `npm run bench`.
//
// - line latency: each line carries the time the build step printed it (adjtimex, in µs, from
//   inside the container); the SSE client subtracts that from the time it received the line.
// - worker memory: a fresh worker process builds a step that prints 1 GB, then one that prints a
//   single 100 MB line; its peak RSS (VmHWM) is read from /proc afterwards.
import { readFile } from 'node:fs/promises'
import type { Config } from '../src/config.js'
import type { Build, Builder } from '../src/schemas/build.js'
import { createRepo } from '../test/helpers/git-repo.js'
import { freePort } from '../test/helpers/ports.js'
import { startSlipwayProcess } from '../test/helpers/processes.js'
import { readSse } from '../test/helpers/sse.js'
import { createScope, type Teardown } from '../test/helpers/teardown.js'
import { asAdmin, testConfig } from '../test/helpers/config.js'

const LINES = 300
const TIMED_LINES = `FROM busybox
RUN for i in $(seq 1 ${LINES}); do adjtimex | awk '/tv_sec/ {s=$2} /tv_usec/ {u=$2} END {printf "T %d%06d\\n", s, u}'; usleep 10000; done
`
const ONE_GB = `FROM busybox
RUN yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456 | head -c 1000000000
`
const ONE_LONG_LINE = `FROM busybox
RUN head -c 100000000 /dev/zero | tr '\\0' x
`

interface Row {
  name: string
  result: string
  target: string
}

async function main(): Promise<void> {
  const scope = createScope()
  const rows: Row[] = []
  try {
    const config = testConfig(scope, { port: await freePort(), logLevel: 'warn' })
    await startSlipwayProcess(scope, config, 'api')
    const api = `http://127.0.0.1:${config.port}`
    await startSlipwayProcess(scope, config, 'worker')
    for (const builder of ['classic', 'buildkit'] as const) {
      const latencies = await lineLatencies(scope, api, builder)
      rows.push({
        name: `log line latency, ${builder} (p50 / p99 of ${latencies.length})`,
        result: `${percentile(latencies, 50).toFixed(1)} / ${percentile(latencies, 99).toFixed(1)} ms`,
        target: 'p99 < 100 ms'
      })
    }
    const floods: [string, string][] = [
      ['worker peak RSS, a step printing 1 GB', ONE_GB],
      ['worker peak RSS, one line of 100 MB', ONE_LONG_LINE]
    ]
    for (const [name, dockerfile] of floods) {
      const { peakMb, seconds, logBytes } = await floodPeak(scope, config, dockerfile)
      rows.push({ name, result: `${peakMb.toFixed(0)} MB (${seconds.toFixed(0)} s, ${(logBytes / 1e6).toFixed(1)} MB of log kept)`, target: '< 250 MB' })
    }
  } finally {
    await scope.close()
  }
  printTable(rows)
}

/** One build printing timestamped lines, followed over SSE; the latency of each line in ms. */
async function lineLatencies(scope: Teardown, api: string, builder: Builder): Promise<number[]> {
  const repo = await createRepo(scope, { Dockerfile: TIMED_LINES })
  const build = await post(api, { repo: repo.url, builder, noCache: true })
  const latencies: number[] = []
  for await (const event of readSse(`${api}/v1/builds/${build.id}/logs`, { headers: asAdmin() })) {
    const received = Date.now() * 1000
    if (event.event === 'end') {
      const status = (JSON.parse(event.data) as Build).status
      if (status !== 'succeeded') throw new Error(`the latency build ended ${status}`)
      break
    }
    const printed = event.event === 'log' ? /T (\d{16})$/.exec((JSON.parse(event.data) as { text: string }).text)?.[1] : undefined
    if (printed) latencies.push((received - Number(printed)) / 1000)
  }
  return latencies
}

/** A fresh worker builds a flooding Dockerfile; its peak resident memory, from the kernel. */
async function floodPeak(scope: Teardown, base: Config, dockerfile: string): Promise<{ peakMb: number; seconds: number; logBytes: number }> {
  const config = { ...base, prefix: `${base.prefix}-flood-${Date.now()}` }
  const inner = createScope()
  try {
    const worker = await startSlipwayProcess(inner, config, 'worker')
    const api = `http://127.0.0.1:${await freePort()}`
    await startSlipwayProcess(inner, { ...config, port: Number(new URL(api).port) }, 'api')
    const repo = await createRepo(scope, { Dockerfile: dockerfile })
    const started = Date.now()
    const build = await post(api, { repo: repo.url, builder: 'classic', noCache: true })
    let finished: Build
    for (;;) {
      finished = (await (await fetch(`${api}/v1/builds/${build.id}`, { headers: asAdmin() })).json()) as Build
      if (!['queued', 'running'].includes(finished.status)) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    const status = await readFile(`/proc/${worker.pid}/status`, 'utf8')
    const peakKb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1])
    const log = await (await fetch(`${api}/v1/builds/${build.id}/logs`, { headers: asAdmin() })).text()
    if (finished.status !== 'succeeded') throw new Error(`the flood build ended ${finished.status}: ${JSON.stringify(finished.error)}`)
    return { peakMb: peakKb / 1024, seconds: (Date.now() - started) / 1000, logBytes: Buffer.byteLength(log) }
  } finally {
    await inner.close()
  }
}

async function post(api: string, body: object): Promise<Build> {
  const response = await fetch(`${api}/v1/builds`, { method: 'POST', headers: asAdmin({ 'content-type': 'application/json' }), body: JSON.stringify(body) })
  if (response.status !== 202) throw new Error(`POST /v1/builds answered ${response.status}: ${await response.text()}`)
  return (await response.json()) as Build
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

function printTable(rows: Row[]): void {
  const width = Math.max(...rows.map((row) => row.name.length))
  const resultWidth = Math.max(...rows.map((row) => row.result.length))
  process.stdout.write(`\n${'benchmark'.padEnd(width)}  ${'result'.padEnd(resultWidth)}  target\n`)
  for (const row of rows) process.stdout.write(`${row.name.padEnd(width)}  ${row.result.padEnd(resultWidth)}  ${row.target}\n`)
}

await main()
