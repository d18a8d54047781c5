// The clone phase of a build of a ~10 MB repository right after one new commit: Slipway fetching
// that commit into its warm mirror, beside a fresh `git clone --depth 1` of the same commit typed
// by hand. Both read the same repository through git's own transport (file://, so no network
// time flatters either side). Slipway's figure is the clone phase its build reports.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import { tempFolder } from '../test/helpers/files.js'
import { createRepo } from '../test/helpers/git-repo.js'
import { milliseconds, percentile, type Section } from './report.js'
import { postBuild, startSlipway, untilEnded } from './slipway.js'

const SAMPLES = 7
const FILES = 200
// Random bytes, base64: text git cannot compress much, so the repository really is ~10 MB.
const FILE_BYTES = 38_000
const TARGET_SPEEDUP = 5

export const cloneSection: Section = {
  name: 'clone',
  summary: `the clone phase after one new commit to a ~10 MB repository: mirror cache vs a fresh clone (median of ${SAMPLES})`,
  async run ({ scope, progress }) {
    const files: Record<string, string> = { Dockerfile: 'FROM busybox\nCOPY counter.txt /\n', 'counter.txt': '0\n' }
    for (let i = 0; i < FILES; i++) files[`data/file-${i}.txt`] = randomBytes(FILE_BYTES).toString('base64')
    const repo = await createRepo(scope, files)
    const { api } = await startSlipway(scope, { worker: true, config: { allowLocalRepos: true } })
    const cloneMs = async (): Promise<number> => {
      const build = await untilEnded(api, (await postBuild(api, { repo: repo.url })).id)
      if (build.status !== 'succeeded') throw new Error(`clone bench build ended ${build.status}: ${JSON.stringify(build.error)}`)
      return build.phases.find((phase) => phase.name === 'clone')!.durationMs!
    }
    progress('first build: fills the mirror')
    await cloneMs()

    const scratch = await tempFolder(scope, {}, 'slipway-bench-clone-')
    const mirror: number[] = []
    const fresh: number[] = []
    for (let n = 1; n <= SAMPLES; n++) {
      progress(`commit ${n} of ${SAMPLES}`)
      await repo.commit({ 'counter.txt': `${n}\n` })
      mirror.push(await cloneMs())
      const dir = path.join(scratch, `clone-${n}`)
      const began = performance.now()
      await promisify(execFile)('git', ['clone', '--quiet', '--depth=1', '--no-tags', repo.url, dir])
      fresh.push(performance.now() - began)
      await rm(dir, { recursive: true, force: true })
    }
    const [ours, theirs] = [percentile(mirror, 50), percentile(fresh, 50)]
    return [
      {
        figure: `clone after one new commit, ~10 MB repository (median of ${SAMPLES})`,
        slipway: `${milliseconds(ours)} (mirror)`,
        reference: `${milliseconds(theirs)} (git clone --depth 1)`,
        target: `${TARGET_SPEEDUP}x faster`,
        met: theirs / ours >= TARGET_SPEEDUP
      },
      { figure: '  speed-up', slipway: `${(theirs / ours).toFixed(1)}x`, reference: '', target: '', met: null }
    ]
  }
}
