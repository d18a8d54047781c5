import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { Build } from '../../src/domain/schemas/build.js'
import { forgetBuilds, startDockerd } from '../helpers/dockerd.js'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// Registry cache across engines: a build pushed with inline cache metadata lets a later build on
// an engine without any of its cache reuse every unchanged step, imported from the registry. The
// worker builds on engine B (a daemon of the test's own, test/helpers/dockerd.ts), whose whole
// cache the test throws away between builds: as an engine that never saw the repository.

const runSteps = (build: Build) => build.steps.filter((step) => step.instruction.startsWith('RUN') || step.instruction.startsWith('COPY'))

t.test('a build on an engine without cache imports it from the registry; off, it runs every step; a failed import is logged and the build goes on', async (t) => {
  const [registry, engine] = await Promise.all([startRegistry(t), startDockerd(t)])
  const slipway = await startSlipway(t, {}, undefined, { docker: engine.docker })
  const nonce = randomBytes(8).toString('hex')
  const repo = await createRepo(t, {
    Dockerfile:
      `FROM busybox AS builder\nRUN echo ${nonce} > /seed && for i in 1 2 3 4 5 6; do cat /seed /seed > /out; cp /out /seed; done\n` +
      'FROM busybox\nCOPY --from=builder /out /out\nRUN wc -c /out > /size\n'
  })
  const image = `${registry.host}/team/regcache`

  const first = await slipway.build({ repo: repo.url, image, tags: ['v1'] })
  t.equal(first.status, 'succeeded', JSON.stringify(first.error))
  t.same(first.registryCache, { exported: true, imports: [] }, 'the first build exports cache and has nothing to import')
  t.ok(runSteps(first).every((step) => !step.cached), 'its steps ran')
  t.same(first.request.buildArgs, {}, 'the inline cache switch is no build arg of the request')
  t.notOk(JSON.stringify(first.image?.layers).includes('BUILDKIT_INLINE_CACHE'), "nor in the image's history")
  t.ok(first.image?.layers.some((layer) => layer.instruction.startsWith('RUN wc') && layer.line === 5), 'the layer map still finds its lines')
  const digestRef = `${image}@${first.image!.digest!}`

  await forgetBuilds(engine.docker)
  const second = await slipway.build({ repo: repo.url, image, tags: ['v1'], force: true })
  t.equal(second.status, 'succeeded', JSON.stringify(second.error))
  t.match(second.registryCache, { exported: true, imports: [{ reference: digestRef, source: 'previous-build', outcome: 'imported', durationMs: Number }] })
  t.equal(second.registryCache?.imports.length, 1)
  t.ok(runSteps(second).length >= 3 && runSteps(second).every((step) => step.cached), `every step came from the registry cache: ${JSON.stringify(runSteps(second))}`)
  t.notOk(second.steps.some((step) => /importing cache/.test(step.instruction)), 'the import is no step')
  const log = await slipway.logs(second.id)
  t.match(log, `Importing cache from ${digestRef} (previous build ${first.id})`)
  t.match(log, `Imported registry cache from ${digestRef}`)
  t.equal(second.image?.digest, first.image?.digest, 'the same image, to the digest')

  await forgetBuilds(engine.docker)
  const off = await slipway.build({ repo: repo.url, image, tags: ['v1'], force: true, registryCache: false })
  t.equal(off.status, 'succeeded', JSON.stringify(off.error))
  t.same(off.registryCache, { exported: false, imports: [] })
  t.ok(runSteps(off).every((step) => !step.cached), 'with registryCache: false the steps ran')

  await forgetBuilds(engine.docker)
  const named = await slipway.build({ repo: repo.url, push: false, cacheFrom: [`${image}:gone`, digestRef] })
  t.equal(named.status, 'succeeded', JSON.stringify(named.error))
  t.match(named.registryCache, {
    exported: false,
    imports: [
      { reference: `${image}:gone`, source: 'request', outcome: 'failed', error: /not found/ },
      { reference: digestRef, source: 'request', outcome: 'imported' }
    ]
  })
  t.ok(runSteps(named).every((step) => step.cached), 'cacheFrom: the steps came from the image that is there')
  t.match(await slipway.logs(named.id), `Registry cache from ${image}:gone could not be used`)

  const classic = await slipway.build({ repo: repo.url, image, tags: ['classic'], builder: 'classic', cacheFrom: [digestRef] })
  t.equal(classic.status, 'succeeded', JSON.stringify(classic.error))
  t.equal(classic.registryCache, null, 'the classic builder neither exports nor imports')
  t.equal((await slipway.logs(classic.id)).match(/classic builder neither exports nor imports/g)?.length, 1, 'and its log says so once')

  await registry.stop()
  await forgetBuilds(engine.docker)
  const down = await slipway.build({ repo: repo.url, push: false, cacheFrom: [digestRef], force: true })
  t.equal(down.status, 'succeeded', `with the registry down the build goes on: ${JSON.stringify(down.error)}`)
  t.match(down.registryCache, { imports: [{ reference: digestRef, outcome: 'failed', error: /refused|connect/ }] })
  t.ok(runSteps(down).every((step) => !step.cached), 'and runs its steps')
  t.ok(down.steps.every((step) => step.status === 'succeeded'), 'no step failed')
  t.match(await slipway.logs(down.id), new RegExp(`Registry cache from ${digestRef.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} could not be used \\(.+\\); the build goes on without it`))
  await registry.start()

  await t.test('SLIPWAY_REGISTRY_CACHE=off: neither import nor export, whatever the request asks', async (t) => {
    const offServer = await startSlipway(t, { registryCache: 'off' }, undefined, { docker: engine.docker })
    await forgetBuilds(engine.docker)
    const build = await offServer.build({ repo: repo.url, push: false, cacheFrom: [digestRef] })
    t.equal(build.status, 'succeeded', JSON.stringify(build.error))
    t.same(build.registryCache, { exported: false, imports: [] })
    t.ok(runSteps(build).every((step) => !step.cached), `the steps ran: ${JSON.stringify(runSteps(build))}`)
    t.match(await offServer.logs(build.id), 'SLIPWAY_REGISTRY_CACHE=off')
  })

  await t.test('a registry that wants credentials: BuildKit reads the cache with them, through the build\'s session', async (t) => {
    const locked = await startRegistry(t, { username: 'slipway', password: 'registry-cache-pass' })
    const withAuth = await startSlipway(t, { dockerConfig: await locked.writeDockerConfig() }, undefined, { docker: engine.docker })
    const lockedImage = `${locked.host}/team/regcache`
    const pushed = await withAuth.build({ repo: repo.url, image: lockedImage, tags: ['v1'] })
    t.equal(pushed.status, 'succeeded', JSON.stringify(pushed.error))
    await forgetBuilds(engine.docker)
    const again = await withAuth.build({ repo: repo.url, image: lockedImage, tags: ['v1'], force: true })
    t.equal(again.status, 'succeeded', JSON.stringify(again.error))
    t.match(again.registryCache, { imports: [{ source: 'previous-build', outcome: 'imported' }] })
    t.ok(runSteps(again).every((step) => step.cached), `every step came from the locked registry's cache: ${JSON.stringify(runSteps(again))}`)
  })

  await t.test("a token may not import another team's image", async (t) => {
    const made = await slipway.app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'team a', scopes: ['builds:write'], pushAllow: [`${registry.host}/team-a/*`] } })
    const token = made.json<{ token: string }>().token
    const response = await slipway.app.inject({
      method: 'POST',
      url: '/v1/builds',
      headers: { authorization: `Bearer ${token}` },
      payload: { repo: repo.url, image: `${registry.host}/team-a/app`, cacheFrom: [digestRef] }
    })
    t.equal(response.statusCode, 403, response.body)
    t.equal(response.json<{ code: string }>().code, 'CACHE_FROM_NOT_ALLOWED')
  })
})
