// `npm run bench`: runs the bench sections one after another on this machine (real Redis, real
// Docker, real Slipway processes) and prints one table of every figure beside its reference and
// target. Progress goes to stderr, the table to stdout. It fails only when a section could not
// measure; a missed target is a "no" in the table.
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { createScope } from '../test/helpers/teardown.js'
import { apiSection } from './api.js'
import { buildVsHandSection } from './build-vs-hand.js'
import { cacheExplanationSection } from './cache-explanation.js'
import { cloneSection } from './clone.js'
import { followersSection } from './followers.js'
import { listSection } from './list.js'
import { logsSection } from './logs.js'
import { queueSection } from './queue.js'
import { readsSection } from './reads.js'
import { redisMemorySection } from './redis-memory.js'
import { registryCacheSection } from './registry-cache.js'
import { supplyChainSection } from './supply-chain.js'
import { formatTable, type Row, type Section } from './report.js'
import { BUILDS_PER_MINUTE, DEFAULT_BUILDS, soakSection, WARM_UP_MINUTES } from './soak.js'

// In the order they run. Each section starts its own processes on its own Redis prefix and stops
// them when it ends, so none measures another's leftovers.
const SECTIONS: Section[] = [
  buildVsHandSection,
  cloneSection,
  apiSection,
  readsSection,
  queueSection,
  listSection,
  logsSection,
  followersSection,
  redisMemorySection,
  cacheExplanationSection,
  registryCacheSection,
  supplyChainSection,
  soakSection
]

function usage (): string {
  const names = SECTIONS.map((section) => `  ${section.name.padEnd(8)} ${section.onlyWhenNamed ? '(only with --only) ' : ''}${section.summary}`).join('\n')
  return `Usage: npm run bench [-- --only NAME,NAME]

Measures Slipway on this machine and prints one table: figure | Slipway | reference | target | met?
Needs what scripts/setup.sh starts: Redis on 127.0.0.1:6379, Docker Engine, busybox:latest.

Sections (all but the --only ones run by default, in this order):
${names}

Options:
  --only NAMES  run only these sections (comma-separated)
  -h, --help    show this help

Environment:
  SLIPWAY_SOAK_BUILDS  builds of the soak section (default ${DEFAULT_BUILDS}, posted ${BUILDS_PER_MINUTE} a minute);
                       its verdict needs builds going on for ${WARM_UP_MINUTES} minutes (the warm-up) and a few more
`
}

function selectedSections (): Section[] | null {
  const { values } = parseArgs({ options: { only: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) return null
  if (values.only === undefined) return SECTIONS.filter((section) => !section.onlyWhenNamed)
  const names = values.only.split(',').map((name) => name.trim()).filter(Boolean)
  const unknown = names.filter((name) => !SECTIONS.some((section) => section.name === name))
  if (unknown.length > 0 || names.length === 0) throw new Error(`--only: unknown section ${unknown.join(', ') || '(none given)'}; sections: ${SECTIONS.map((s) => s.name).join(', ')}`)
  return SECTIONS.filter((section) => names.includes(section.name))
}

async function main (): Promise<void> {
  let sections: Section[] | null
  try {
    sections = selectedSections()
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage()}`)
    process.exitCode = 2
    return
  }
  if (!sections) {
    process.stdout.write(usage())
    return
  }
  const began = performance.now()
  const say = (message: string) => process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${message}\n`)
  const rows: Row[] = []
  const failed: string[] = []
  for (const [i, section] of sections.entries()) {
    say(`${section.name} (${i + 1}/${sections.length}): ${section.summary}`)
    const scope = createScope()
    // Ctrl-C still stops this section's processes and removes its Redis keys.
    const interrupted = () => { void scope.close().finally(() => process.exit(130)) }
    process.once('SIGINT', interrupted)
    try {
      rows.push(...(await section.run({ scope, progress: (message) => say(`${section.name}: ${message}`) })))
    } catch (error) {
      failed.push(section.name)
      say(`${section.name} failed: ${(error as Error).stack ?? String(error)}`)
    } finally {
      await scope.close()
      process.off('SIGINT', interrupted)
    }
  }
  say(`done in ${((performance.now() - began) / 1000).toFixed(0)} s${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''}`)
  if (rows.length > 0) process.stdout.write(`\n${formatTable(rows)}`)
  if (failed.length > 0) process.exitCode = 1
}

await main()
