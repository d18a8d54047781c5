import { access, constants, readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { EXIT_CODE_MEANINGS } from '../src/cli/exit-codes.js'
import { describeConfig } from '../src/domain/config.js'
import { FAILURE_CODES } from '../src/domain/builds/failure-codes.js'
import { packageRoot } from '../src/package-info.js'

// The README is part of the product: these checks keep it true to what the code does.
const readme = await readFile(path.join(packageRoot, 'README.md'), 'utf8')

t.test('every configuration variable is documented', async (t) => {
  for (const { variable } of describeConfig()) t.match(readme, `\`${variable}\``, variable)
})

t.test('every build failure code is documented', async (t) => {
  for (const code of Object.keys(FAILURE_CODES)) t.match(readme, `\`${code}\``, code)
})

t.test('the commands the README gives exist and can run', async (t) => {
  for (const script of ['scripts/demo.sh', 'scripts/test.sh', 'scripts/setup.sh', '.ci/run']) {
    t.match(readme, script)
    await t.resolves(access(path.join(packageRoot, script), constants.X_OK), `${script} is executable`)
  }
})

t.test("the CLI's exit codes are the README's table", async (t) => {
  const table = [...readme.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((row) => Number(row[1]))
  t.same(table, EXIT_CODE_MEANINGS.map(([code]) => code))
})
