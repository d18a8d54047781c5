import t from 'tap'
import { createRepo } from '../helpers/git-repo.js'
import { docker, registryDigest } from '../helpers/docker.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// What a pushed image is described by, through the live service: its provenance statement, read
// back against the registry and the engine.

t.test('a pushed build has a provenance statement naming the digest the registry serves', async (t) => {
  const slipway = await startSlipway(t)
  const registry = await startRegistry(t)
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox AS tools\nRUN echo tools > /t\nFROM busybox\nCOPY --from=tools /t /t\n' })
  const image = `${registry.host}/team/provenance`
  const build = await slipway.build({ repo: repo.url, image, buildArgs: { GREETING: 'hi', API_TOKEN: 'tok-123' } })
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))

  const response = await slipway.app.inject({ method: 'GET', url: `/v1/builds/${build.id}/provenance` })
  t.equal(response.statusCode, 200, response.body)
  const statement = response.json()
  const tag = build.commit!.slice(0, 12)
  t.same(statement.subject, [{ name: image, digest: { sha256: (await registryDigest(registry.host, 'team/provenance', tag))!.replace('sha256:', '') } }], 'the subject is the digest the registry serves')
  const dependencies = statement.predicate.buildDefinition.resolvedDependencies
  t.same(dependencies[0], { uri: `git+${repo.url}@refs/heads/main`, digest: { gitCommit: build.commit } }, 'the commit it was built from')
  const busybox = await docker.getImage('busybox').inspect()
  t.equal(dependencies.length, 2, 'busybox once, though two stages use it')
  t.match(dependencies[1], { uri: /^pkg:docker\/busybox/, digest: { sha256: (busybox.RepoDigests?.[0]?.split('@sha256:')[1]) ?? busybox.Id.replace('sha256:', '') } }, 'the base image the engine built on')
  t.same(statement.predicate.buildDefinition.externalParameters.buildArgs, { GREETING: 'hi', API_TOKEN: '(redacted)' })
  t.notOk(response.body.includes('tok-123'), 'no secret-looking value')
  t.same(build.baseImages?.map((base) => base.name), ['busybox'], 'the build lists its base images')

  const local = await slipway.build({ repo: repo.url })
  const refused = await slipway.app.inject({ method: 'GET', url: `/v1/builds/${local.id}/provenance` })
  t.equal(refused.statusCode, 409)
  t.match(refused.json(), { code: 'PROVENANCE_NOT_AVAILABLE', message: /did not ask for provenance/ })
})
