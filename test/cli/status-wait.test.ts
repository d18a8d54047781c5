import t from 'tap'
import { EXIT } from '../../src/cli/exit-codes.js'
import type { Build } from '../../src/domain/schemas/build.js'
import { buildApp } from '../helpers/app.js'
import { compiledCli, runCli } from '../helpers/cli.js'
import { TEST_ADMIN_TOKEN, testConfig } from '../helpers/config.js'

// `slipway status --wait` against the real API on real Redis (no worker: the test moves the
// build along through the store, as a worker would), as the compiled command a CI job runs.

t.test('status --wait says each change of status, then shows the ended build and exits with its outcome', async (t) => {
  const bin = await compiledCli()
  const app = await buildApp(t, testConfig(t))
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const created = await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: 'https://git.example.com/team/app.git', image: 'localhost:5000/team/app' } })
  const build = created.json<Build>()
  // The nth request that waits has reached the API (the command starts slowly on a loaded machine).
  let waits = 0
  const arrived: (() => void)[] = []
  app.server.on('request', (request: { url?: string }) => {
    if (request.url?.includes('wait=')) waits += 1
    arrived.splice(0).forEach((resolve) => resolve())
  })
  const waitRequest = async (n: number) => {
    while (waits < n) await new Promise<void>((resolve) => arrived.push(resolve))
    // Its first read of the build is done well within this.
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  const waiting = runCli(bin, { SLIPWAY_URL: url, SLIPWAY_TOKEN: TEST_ADMIN_TOKEN }, ['status', build.id, '--wait'])
  await waitRequest(1)
  await app.storage.builds.transition(build.id, { from: ['queued'], to: 'running', set: { startedAt: new Date().toISOString() } })
  await waitRequest(2)
  const error = { code: 'CANCELED' as const, message: 'Canceled by a test.', phase: null }
  await app.storage.builds.transition(build.id, { from: ['running'], to: 'canceled', set: { finishedAt: new Date().toISOString(), error } })
  const run = await waiting
  t.equal(run.code, EXIT.canceled, run.stderr)
  t.match(run.stderr, new RegExp(`build ${build.id} is running\\n[^]*build ${build.id} is canceled`))
  t.match(run.stdout, /canceled/)
  t.match(run.stdout, /Canceled by a test\./)
})
