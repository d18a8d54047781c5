import t from 'tap'
import type { Build } from '../../src/domain/schemas/build.js'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// A real registry and worker: a token limited to one team's repositories pushes there, and its
// request for another team's repository is refused before anything runs, so the registry never
// sees it.

t.test("a token limited to team-a's repositories cannot push to team-b's; it can push to its own", async (t) => {
  const registry = await startRegistry(t)
  const slipway = await startSlipway(t, { pushAllow: '' })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo built > /built\n' })
  const catalog = async () => (await (await fetch(`http://${registry.host}/v2/_catalog`)).json()) as { repositories: string[] }
  const made = await slipway.app.inject({
    method: 'POST',
    url: '/v1/tokens',
    payload: { name: 'team-a ci', scopes: ['builds:read', 'builds:write'], pushAllow: [`${registry.host}/team-a/*`] }
  })
  const headers = { authorization: `Bearer ${made.json<{ token: string }>().token}` }
  const submit = (image: string) => slipway.app.inject({ method: 'POST', url: '/v1/builds', headers, payload: { repo: repo.url, image, tags: ['latest'] } })

  const refused = await submit(`${registry.host}/team-b/app`)
  t.equal(refused.statusCode, 403, refused.body)
  t.equal(refused.json().code, 'IMAGE_NOT_ALLOWED')
  const own = await submit(`${registry.host}/team-a/app`)
  t.equal(own.statusCode, 202, own.body)
  const build = await slipway.wait(own.json<Build>().id)
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  t.same(await catalog(), { repositories: ['team-a/app'] }, "the registry holds team-a's image and nothing of team-b")
  const listed = (await slipway.app.inject({ method: 'GET', url: '/v1/builds' })).json<{ items: Build[] }>().items
  t.same(listed.map((item) => item.id), [build.id], 'the refused request left no build')
})
