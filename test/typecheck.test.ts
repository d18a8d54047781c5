import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { packageRoot } from '../src/package-info.js'

// tap runs TypeScript without checking types; this makes a type error a failing test.
t.test('the whole project typechecks (tsc, strict)', async (t) => {
  const result = await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: packageRoot }).then(
    () => ({ ok: true, output: '' }),
    (error: Error & { stdout?: string }) => ({ ok: false, output: error.stdout ?? error.message })
  )
  t.ok(result.ok, result.output)
})
