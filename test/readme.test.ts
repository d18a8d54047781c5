import { access, constants, readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { EXIT_CODE_MEANINGS } from '../src/cli/exit-codes.js'
import { describeConfig } from '../src/domain/config.js'
import { FAILURE_CODES } from '../src/domain/builds/failure-codes.js'
import { packageRoot } from '../src/package-info.js'
import { linkTargets, productDocs } from './helpers/docs.js'

// The README and docs/ are part of the product: these checks keep them true to what the code does.
const read = (file: string) => readFile(path.join(packageRoot, file), 'utf8')
const readme = await read('README.md')

t.test('every configuration variable is documented', async (t) => {
  const configuration = await read('docs/reference/configuration.md')
  for (const { variable } of describeConfig()) t.match(configuration, `\`${variable}\``, variable)
})

t.test('every build failure code is documented', async (t) => {
  const errors = await read('docs/reference/errors.md')
  for (const code of Object.keys(FAILURE_CODES)) t.match(errors, `\`${code}\``, code)
})

t.test('the commands the README gives exist and can run', async (t) => {
  for (const script of ['scripts/demo.sh', 'scripts/test.sh', 'scripts/setup.sh', '.ci/run']) {
    t.match(readme, script)
    await t.resolves(access(path.join(packageRoot, script), constants.X_OK), `${script} is executable`)
  }
})

t.test("the CLI's exit codes are the CLI reference's table", async (t) => {
  const cli = await read('docs/reference/cli.md')
  const table = [...cli.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((row) => Number(row[1]))
  t.same(table, EXIT_CODE_MEANINGS.map(([code]) => code))
})

t.test('the README is short, and leads to every page of docs/', async (t) => {
  t.ok(readme.split('\n').length <= 250, `README.md has ${readme.split('\n').length} lines`)
  const index = await read('docs/README.md')
  const linked = (text: string, from: string) => new Set(linkTargets(text).map((target) => path.join(from, target.split('#')[0]!)))
  const fromReadme = linked(readme, '')
  const fromIndex = linked(index, 'docs')
  for (const page of await productDocs()) {
    if (page === 'README.md') continue
    t.ok(fromReadme.has(page) || (fromIndex.has(page) && fromReadme.has('docs/README.md')), `${page} is linked from the README or docs/README.md`)
  }
})
