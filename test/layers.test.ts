import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { packageRoot } from '../src/package-info.js'

const run = promisify(execFile)
const depcruise = path.join(packageRoot, 'node_modules', '.bin', 'depcruise')
const config = path.join(packageRoot, '.dependency-cruiser.cjs')

/** The rules' findings for `dirs` under `cwd`, as "rule: from → to" lines; empty when all hold. */
async function violations (cwd: string, dirs: string[]): Promise<string[]> {
  const result = await run(depcruise, [...dirs, '--config', config, '--output-type', 'json'], { cwd, maxBuffer: 64 << 20 }).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' })
  )
  const report = JSON.parse(result.stdout) as { summary: { violations: { rule: { name: string }, from: string, to: string }[] } }
  return report.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)
}

t.test('the tree keeps its layers (.dependency-cruiser.cjs)', async (t) => {
  t.same(await violations(packageRoot, ['src', 'workers']), [])
})

// Each line is an import a newcomer might write; each must be caught by the rule it names.
const WRONG_IMPORTS: [from: string, importing: string, rule: string][] = [
  ['src/domain/rule.ts', '../storage/build-store.js', 'domain-imports-no-layer'],
  ['src/domain/io.ts', 'node:fs', 'domain-does-no-io'],
  ['src/storage/build-store.ts', '../services/build-service.js', 'storage-on-domain'],
  ['src/cli/command.ts', '../storage/build-store.js', 'cli-over-http'],
  ['src/api/route.ts', '../../workers/run-build.js', 'api-below-entries'],
  ['workers/phase.ts', '../src/api/app.js', 'workers-below-entries'],
  ['workers/reader.ts', '../src/storage/keys.js', 'redis-keys-in-storage'],
  ['src/services/service.ts', 'ioredis', 'redis-client-in-storage'],
  ['src/domain/a.ts', './b.js', 'no-circular'],
  ['src/portal/page.js', '../storage/build-store.js', 'portal-in-the-browser'],
  ['src/domain/build-summary.js', './schemas/build.js', 'browser-modules-stand-alone']
]

t.test('an import that breaks a layer rule is reported', async (t) => {
  const dir = t.testdir({
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowJs: true } }),
    node_modules: t.fixture('symlink', path.join(packageRoot, 'node_modules'))
  })
  const write = async (file: string, text: string) => {
    await mkdir(path.join(dir, path.dirname(file)), { recursive: true })
    await writeFile(path.join(dir, file), text)
  }
  for (const target of ['src/storage/build-store.ts', 'src/services/build-service.ts', 'workers/run-build.ts', 'src/api/app.ts', 'src/storage/keys.ts', 'src/domain/schemas/build.ts']) {
    await write(target, 'export const x = 1\n')
  }
  await write('src/domain/b.ts', "import { a } from './a.js'\nexport const b = a\n")
  for (const [from, importing] of WRONG_IMPORTS) {
    await write(from, `import * as target from '${importing}'\nexport const a = target\n`)
  }
  const found = await violations(dir, ['src', 'workers'])
  for (const [from, importing, rule] of WRONG_IMPORTS) {
    t.ok(found.some((line) => line.startsWith(`${rule}: ${from} →`)), `${from} importing ${importing} breaks ${rule}`, { found })
  }
})
