// Queue latency: how long a build waits between its POST and a worker starting it, with an idle
// worker (a real worker process on real Docker) and a tiny busybox build. Builds go one at a
// time, each after the previous one ended, so the worker is idle whenever one is posted.
//
// The figure is the build's own startedAt (written by the worker as it claims the build) minus
// the moment the POST left here: both clocks are this machine's, and nothing polls in between.
import { createRepo } from '../test/helpers/git-repo.js'
import { milliseconds, percentile, type Section } from './report.js'
import { postBuild, startSlipway, untilEnded } from './slipway.js'

const SAMPLES = 40
// The first builds warm up the worker (its Docker connection, the JIT) and are not counted.
const WARM_UP = 2
const TARGET_P99_MS = 50
// The argument is never used, so the layer cache serves every build: they differ only to the API.
const DOCKERFILE = 'FROM busybox\nARG BENCH_REQUEST\n'

export const queueSection: Section = {
  name: 'queue',
  summary: `POST to running with an idle worker: p50 and p99 over ${SAMPLES} tiny busybox builds`,
  async run ({ scope, progress }) {
    const { api } = await startSlipway(scope, { worker: true })
    const repo = await createRepo(scope, { Dockerfile: DOCKERFILE })
    const waits: number[] = []
    for (let n = 1; n <= WARM_UP + SAMPLES; n++) {
      if (n % 10 === 0) progress(`build ${n} of ${WARM_UP + SAMPLES}`)
      const posted = Date.now()
      // A distinct request each time, so none joins or reuses an earlier build.
      const build = await postBuild(api, { repo: repo.url, buildArgs: { BENCH_REQUEST: String(n) } })
      const ended = await untilEnded(api, build.id)
      if (ended.status !== 'succeeded' || !ended.startedAt) throw new Error(`queue build ${n} ended ${ended.status}: ${JSON.stringify(ended.error)}`)
      if (n > WARM_UP) waits.push(Date.parse(ended.startedAt) - posted)
    }
    const p99 = percentile(waits, 99)
    return [
      {
        figure: `queue latency, POST to running (p50 / p99 of ${waits.length})`,
        slipway: `${milliseconds(percentile(waits, 50))} / ${milliseconds(p99)}`,
        reference: '',
        target: `p99 < ${TARGET_P99_MS} ms`,
        met: p99 < TARGET_P99_MS
      }
    ]
  }
}
