import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { packageRoot } from '../src/package-info.js'

// Lint and format (eslint.config.js) hold for the whole tree: a finding is a failing test.
t.test('the whole tree passes npm run lint', async (t) => {
  const result = await promisify(execFile)('npx', ['eslint', '.'], { cwd: packageRoot, maxBuffer: 64 << 20 }).then(
    () => ({ ok: true, output: '' }),
    (error: Error & { stdout?: string }) => ({ ok: false, output: error.stdout ?? error.message })
  )
  t.ok(result.ok, result.output)
})
