import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { packageRoot } from '../src/package-info.js'

// tap runs TypeScript without checking types; this makes a type error a failing test.
const typecheck = (project: string) =>
  promisify(execFile)('npx', ['tsc', '-p', project], { cwd: packageRoot }).then(
    () => ({ ok: true, output: '' }),
    (error: Error & { stdout?: string }) => ({ ok: false, output: error.stdout ?? error.message })
  )

t.test('the whole project typechecks (tsc, strict)', async (t) => {
  const result = await typecheck('tsconfig.json')
  t.ok(result.ok, result.output)
})

// The portal's plain JavaScript, checked from its JSDoc types against the DOM and the API's schemas.
t.test("the portal's browser code typechecks (checkJs, DOM)", async (t) => {
  const result = await typecheck('tsconfig.portal.json')
  t.ok(result.ok, result.output)
})
