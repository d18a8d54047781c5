// Live logs, measured end to end: an API process and a worker process on real Redis and Docker,
// and an SSE client here.
//
// - line latency: each line carries the time the build step printed it (adjtimex, in µs, from
//   inside the container); the SSE client subtracts that from the time it received the line.
// - worker memory: a fresh worker process builds a step that prints 1 GB, then one that prints a
//   single 100 MB line; its peak RSS (VmHWM) is read from /proc afterwards.
import type { Build, Builder } from '../src/domain/schemas/build.js'
import { asAdmin } from '../test/helpers/config.js'
import { createRepo } from '../test/helpers/git-repo.js'
import { readSse } from '../test/helpers/sse.js'
import { createScope, type Teardown } from '../test/helpers/teardown.js'
import { megabytes, milliseconds, percentile, type Row, type Section } from './report.js'
import { memoryOf, postBuild, startSlipway } from './slipway.js'

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
const LATENCY_TARGET_MS = 100
const PEAK_TARGET_BYTES = 250 * 1024 * 1024

export const logsSection: Section = {
  name: 'logs',
  summary: 'live log line latency over SSE (both builders) and worker memory while a build floods its log',
  async run ({ scope, progress }) {
    const rows: Row[] = []
    const { api } = await startSlipway(scope, { worker: true })
    for (const builder of ['classic', 'buildkit'] as const) {
      progress(`following ${LINES} timed log lines over SSE (${builder})`)
      const latencies = await lineLatencies(scope, api, builder)
      const p99 = percentile(latencies, 99)
      rows.push({
        figure: `log line latency, ${builder} (p50 / p99 of ${latencies.length})`,
        slipway: `${milliseconds(percentile(latencies, 50))} / ${milliseconds(p99)}`,
        reference: '',
        target: `p99 < ${LATENCY_TARGET_MS} ms`,
        met: p99 < LATENCY_TARGET_MS
      })
    }
    const floods: [string, string][] = [
      ['worker peak RSS, a step printing 1 GB', ONE_GB],
      ['worker peak RSS, one line of 100 MB', ONE_LONG_LINE]
    ]
    for (const [figure, dockerfile] of floods) {
      progress(`${figure}: building with a fresh worker`)
      const { peakBytes, seconds, logBytes } = await floodPeak(scope, dockerfile)
      rows.push({
        figure,
        slipway: `${megabytes(peakBytes)} (${seconds.toFixed(0)} s, ${(logBytes / 1e6).toFixed(1)} MB of log kept)`,
        reference: '',
        target: `< ${megabytes(PEAK_TARGET_BYTES)}`,
        met: peakBytes < PEAK_TARGET_BYTES
      })
    }
    return rows
  }
}

/** One build printing timestamped lines, followed over SSE; the latency of each line in ms. */
async function lineLatencies (scope: Teardown, api: string, builder: Builder): Promise<number[]> {
  const repo = await createRepo(scope, { Dockerfile: TIMED_LINES })
  const build = await postBuild(api, { repo: repo.url, builder, noCache: true })
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

/** A fresh worker (and an API beside it) builds a flooding Dockerfile; the worker's peak resident memory. */
async function floodPeak (scope: Teardown, dockerfile: string): Promise<{ peakBytes: number; seconds: number; logBytes: number }> {
  // Its own processes, stopped before the next flood, so each peak belongs to one build.
  const inner = createScope()
  try {
    const { api, workerPid } = await startSlipway(inner, { worker: true })
    const repo = await createRepo(scope, { Dockerfile: dockerfile })
    const started = Date.now()
    const build = await postBuild(api, { repo: repo.url, builder: 'classic', noCache: true })
    let finished: Build
    for (;;) {
      finished = (await (await fetch(`${api}/v1/builds/${build.id}`, { headers: asAdmin() })).json()) as Build
      if (!['queued', 'running'].includes(finished.status)) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    const seconds = (Date.now() - started) / 1000
    const { peak } = await memoryOf(workerPid!)
    const log = await (await fetch(`${api}/v1/builds/${build.id}/logs`, { headers: asAdmin() })).text()
    if (finished.status !== 'succeeded') throw new Error(`the flood build ended ${finished.status}: ${JSON.stringify(finished.error)}`)
    return { peakBytes: peak, seconds, logBytes: Buffer.byteLength(log) }
  } finally {
    await inner.close()
  }
}
