// What listing an image's packages (the SBOM) adds to a build: the benchmark app built and pushed
// with no layer cache, with `sbom: true` and `sbom: false` in turns, each going first in every other
// round. Provenance adds nothing to a build: its statement is written from the record when asked.
import { performance } from 'node:perf_hooks'
import { createRepo } from '../test/helpers/git-repo.js'
import { startRegistry } from '../test/helpers/registry.js'
import { benchmarkApp } from './build-vs-hand.js'
import { percentile, type Row, type Section } from './report.js'
import { postBuild, startSlipway, untilEnded } from './slipway.js'

const ROUNDS = 5
const TARGET_SHARE = 0.05

export const supplyChainSection: Section = {
  name: 'sbom',
  summary: `what listing the image's packages adds to a no-cache build of the benchmark app (median of ${ROUNDS} each way)`,
  async run ({ scope, progress }) {
    const repo = await createRepo(scope, benchmarkApp())
    const registry = await startRegistry(scope)
    const { api } = await startSlipway(scope, { worker: true, config: { allowLocalRepos: true } })
    const build = async (sbom: boolean, round: number) => {
      const began = performance.now()
      const posted = await postBuild(api, { repo: repo.url, image: `${registry.host}/bench/sbom`, tags: [`${sbom ? 'with' : 'without'}-${round}`], noCache: true, force: true, sbom })
      const ended = await untilEnded(api, posted.id)
      const elapsed = performance.now() - began
      if (ended.status !== 'succeeded') throw new Error(`sbom bench: the build ended ${ended.status}: ${JSON.stringify(ended.error)}`)
      progress(`sbom ${sbom ? 'on ' : 'off'}: ${elapsed.toFixed(0)} ms (${ended.phases.map((phase) => `${phase.name} ${phase.durationMs ?? 0} ms`).join(', ')})${sbom ? `; ${ended.packages?.count ?? 0} packages` : ''}`)
      return elapsed
    }
    const times = { with: [] as number[], without: [] as number[] }
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`round ${round} of ${ROUNDS}`)
      const order = round % 2 === 1 ? [true, false] : [false, true]
      for (const sbom of order) (sbom ? times.with : times.without).push(await build(sbom, round))
    }
    const median = (values: number[]) => percentile(values, 50)
    const added = median(times.with) - median(times.without)
    const share = added / median(times.without)
    return [{
      figure: `no-cache build and push with the SBOM vs without (median of ${ROUNDS} each)`,
      slipway: `${(median(times.with) / 1000).toFixed(2)} s (${added >= 0 ? '+' : ''}${added.toFixed(0)} ms, ${(share * 100).toFixed(1)}%)`,
      reference: `${(median(times.without) / 1000).toFixed(2)} s (sbom: false)`,
      target: `< +${TARGET_SHARE * 100}%`,
      met: share < TARGET_SHARE
    }] satisfies Row[]
  }
}
