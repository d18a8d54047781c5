// What describing an image adds to a build: the benchmark app built and pushed with no layer cache,
// with nothing described, with its packages listed (the SBOM), and with everything (SBOM,
// provenance, signature, and all of it attached in the registry by the attest phase), in turns,
// the order rotated every round.
import { generateKeyPairSync } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createRepo } from '../test/helpers/git-repo.js'
import { startRegistry } from '../test/helpers/registry.js'
import { benchmarkApp } from './build-vs-hand.js'
import { percentile, type Row, type Section } from './report.js'
import { postBuild, startSlipway, untilEnded } from './slipway.js'

const ROUNDS = 5
const TARGET_SHARE = 0.05

const WAYS = {
  none: { sbom: false, provenance: false, sign: false },
  sbom: { sbom: true, provenance: false, sign: false },
  all: { sbom: true, provenance: true, sign: true }
} as const
type Way = keyof typeof WAYS

export const supplyChainSection: Section = {
  name: 'sbom',
  summary: `what the SBOM, and the signature and attestations, add to a no-cache build of the benchmark app (median of ${ROUNDS} each way)`,
  async run ({ scope, progress }) {
    const repo = await createRepo(scope, benchmarkApp())
    const registry = await startRegistry(scope)
    const signingKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const { api } = await startSlipway(scope, { worker: true, config: { allowLocalRepos: true, signingKey } })
    const build = async (way: Way, round: number) => {
      const began = performance.now()
      const posted = await postBuild(api, { repo: repo.url, image: `${registry.host}/bench/sbom`, tags: [`${way}-${round}`], noCache: true, force: true, ...WAYS[way] })
      const ended = await untilEnded(api, posted.id)
      const elapsed = performance.now() - began
      if (ended.status !== 'succeeded') throw new Error(`sbom bench: the build ended ${ended.status}: ${JSON.stringify(ended.error)}`)
      if (way === 'all' && (ended.signature === null || ended.attestations?.length !== 3)) throw new Error(`sbom bench: a build asking for everything was not signed and attested: ${JSON.stringify(ended.warnings)}`)
      progress(`${way.padEnd(4)}: ${elapsed.toFixed(0)} ms (${ended.phases.map((phase) => `${phase.name} ${phase.durationMs ?? 0} ms`).join(', ')})`)
      return elapsed
    }
    const times: Record<Way, number[]> = { none: [], sbom: [], all: [] }
    const ways = Object.keys(WAYS) as Way[]
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`round ${round} of ${ROUNDS}`)
      const order = ways.map((_, index) => ways[(index + round) % ways.length]!)
      for (const way of order) times[way].push(await build(way, round))
    }
    const median = (way: Way) => percentile(times[way], 50)
    const row = (figure: string, way: Way, than: Way, reference: string): Row => {
      const added = median(way) - median(than)
      const share = added / median('none')
      return {
        figure,
        slipway: `${(median(way) / 1000).toFixed(2)} s (${added >= 0 ? '+' : ''}${added.toFixed(0)} ms, ${(share * 100).toFixed(1)}% of the build)`,
        reference: `${(median(than) / 1000).toFixed(2)} s (${reference})`,
        target: `< +${TARGET_SHARE * 100}%`,
        met: share < TARGET_SHARE
      }
    }
    return [
      row(`no-cache build and push with the SBOM vs without (median of ${ROUNDS} each)`, 'sbom', 'none', 'sbom, provenance, sign: false'),
      row('…and with provenance, signature and the attest phase too, vs the SBOM alone', 'all', 'sbom', 'sbom only'),
      row('…everything vs nothing', 'all', 'none', 'sbom, provenance, sign: false')
    ] satisfies Row[]
  }
}
