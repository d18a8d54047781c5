import path from 'node:path'
import t from 'tap'
import { catalogueErrors, helpCommandNames, renderReference } from '../../scripts/reference-docs.js'
import { packageRoot } from '../../src/package-info.js'

// docs/reference/ is partly written by `npm run docs` from the code; this fails when the
// committed files are not what it would write, as test/openapi.test.ts does for the OpenAPI document.
t.test('the generated parts of docs/reference/ are what `npm run docs` writes', async (t) => {
  for (const { file, committed, generated } of await renderReference()) {
    t.equal(committed, generated, `${path.relative(packageRoot, file)}: run \`npm run docs\` and commit the result`)
  }
})

t.test('the generator sees the whole error catalogue and every command', async (t) => {
  const codes = catalogueErrors().map((error) => error.code)
  t.ok(codes.length >= 40, `${codes.length} errors`)
  t.ok(codes.includes('VALIDATION_FAILED') && codes.includes('REDIS_UNAVAILABLE'))
  t.same(helpCommandNames(), ['submit', 'status', 'logs', 'cancel', 'retry', 'token', 'secret', 'trigger', 'webhook'])
})
