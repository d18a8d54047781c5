import { randomBytes } from 'node:crypto'
import t from 'tap'
import { docker, removeImage, restoreTagAfter } from '../helpers/docker.js'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// A build may tag only its own image: one that is not pushed lives under Slipway's local
// namespace, never under a name the engine's other builds read, such as a base image's.

t.test("a build that is not pushed cannot retag the engine's busybox:latest, which later builds use", async (t) => {
  // Registered first, so it runs last: should the attack land, the engine gets its busybox back.
  const original = await restoreTagAfter(t, 'busybox', 'latest')
  const slipway = await startSlipway(t)
  const attacker = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo planted > /planted\n' })

  const attack = await slipway.build({ repo: attacker.url, image: 'busybox', tags: ['latest'], push: false })
  t.equal(attack.status, 'succeeded', JSON.stringify(attack.error))
  t.equal(attack.request.image, 'slipway.local/busybox', 'the image lives under the local namespace')
  t.same(attack.image?.tags, ['slipway.local/busybox:latest'])
  t.equal((await docker.getImage('busybox:latest').inspect()).Id, original, "the engine's busybox:latest is the image it was")

  const victim = await createRepo(t, { Dockerfile: 'FROM busybox:latest\nRUN test ! -e /planted\n' })
  const later = await slipway.build({ repo: victim.url })
  t.equal(later.status, 'succeeded', `a later FROM busybox:latest has nothing the attacker planted: ${JSON.stringify(later.error)}`)
})

t.test("variants' tags cannot land on the engine's images either", async (t) => {
  // A base image of the engine's own, as an operator would keep one: busybox under another name.
  const base = `isolation-${randomBytes(4).toString('hex')}/base`
  const { Id: busybox } = await docker.getImage('busybox:latest').inspect()
  for (const tag of ['v1-slim', 'v1-full']) await docker.getImage(busybox).tag({ repo: base, tag })
  t.teardown(async () => {
    for (const tag of ['v1-slim', 'v1-full']) await removeImage(`${base}:${tag}`)
  })
  const slipway = await startSlipway(t)
  const attacker = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo planted > /planted\n' })

  const attack = await slipway.build({ repo: attacker.url, image: base, tags: ['v1'], push: false, variants: [{ name: 'slim' }, { name: 'full' }] })
  t.equal(attack.status, 'succeeded', JSON.stringify(attack.error))
  t.same(attack.variants.map((variant) => variant.tags), [[`slipway.local/${base}:v1-slim`], [`slipway.local/${base}:v1-full`]])
  for (const tag of ['v1-slim', 'v1-full']) t.equal((await docker.getImage(`${base}:${tag}`).inspect()).Id, busybox, `${base}:${tag} is untouched`)
})

for (const builder of ['buildkit', 'classic'] as const) {
  t.test(`${builder}: SLIPWAY_BASE_IMAGE_PULL=always builds FROM the registry's image, not the engine's copy under its name`, async (t) => {
    const registry = await startRegistry(t)
    const missing = await startSlipway(t)
    const always = await startSlipway(t, { baseImagePull: 'always' })
    const base = `${registry.host}/base/busybox`
    t.teardown(() => removeImage(`${base}:1`))

    // The registry holds one image under base:1; the engine's copy of that name is then another.
    const published = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo registry > /origin\n' })
    const pushed = await missing.build({ repo: published.url, image: base, tags: ['1'], builder })
    t.equal(pushed.status, 'succeeded', JSON.stringify(pushed.error))
    const changed = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo engine > /origin\n' })
    const local = await missing.build({ repo: changed.url, tags: ['changed'], builder })
    t.equal(local.status, 'succeeded', JSON.stringify(local.error))
    await docker.getImage(local.image!.id).tag({ repo: base, tag: '1' })

    const user = await createRepo(t, { Dockerfile: `FROM ${base}:1\nRUN grep -qx registry /origin\n` })
    // First the default, since a pull (by the classic builder) moves the engine's tag to what it pulled.
    const fromEngine = await missing.build({ repo: user.url, builder, noCache: true })
    t.equal(fromEngine.status, 'failed', "missing (the default): the engine's own copy")
    const fromRegistry = await always.build({ repo: user.url, builder, noCache: true })
    t.equal(fromRegistry.status, 'succeeded', `always: the registry's image: ${JSON.stringify(fromRegistry.error)}`)
  })
}
