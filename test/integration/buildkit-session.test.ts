import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { forgetBuilds, startDockerd } from '../helpers/dockerd.js'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// BuildKit reads registry credentials from the build's session (workers/docker/buildkit-session.ts):
// a private base image pulls with them, and a registry the credentials do not name gets none.

t.test('BuildKit pulls a base image from a registry that wants credentials, and gives them to no other registry', async (t) => {
  const [locked, engine] = await Promise.all([startRegistry(t, { username: 'slipway', password: 'session-pa55' }), startDockerd(t)])
  const slipway = await startSlipway(t, { dockerConfig: await locked.writeDockerConfig(), builder: 'buildkit' }, undefined, { docker: engine.docker })
  const base = `${locked.host}/team/base`
  const baseRepo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo private > /base-marker\n' })
  const pushed = await slipway.build({ repo: baseRepo.url, image: base, tags: ['v1'] })
  t.equal(pushed.status, 'succeeded', JSON.stringify(pushed.error))

  await t.test('a private base image', async (t) => {
    // The engine has neither the base image nor any cache of it: BuildKit must pull it.
    await forgetBuilds(engine.docker)
    const repo = await createRepo(t, { Dockerfile: `FROM ${base}:v1\nRUN cat /base-marker\n` })
    const build = await slipway.build({ repo: repo.url, push: false })
    t.equal(build.status, 'succeeded', `the engine pulled ${base}:v1 with the session's credentials: ${JSON.stringify(build.error)}`)
    t.notMatch(await slipway.logs(build.id), /session-pa55/, 'the password is in no log line')
  })

  await t.test('a Dockerfile that names another registry gets none of the credentials', async (t) => {
    // An attacker's registry: it asks for Basic credentials and writes down whatever it is sent.
    const received: string[] = []
    const attacker = createServer((request, response) => {
      if (request.headers.authorization) received.push(request.headers.authorization)
      response.writeHead(401, { 'www-authenticate': 'Basic realm="registry"', 'docker-distribution-api-version': 'registry/2.0' }).end()
    })
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve))
    t.teardown(() => attacker.close())
    const attackerHost = `localhost:${(attacker.address() as AddressInfo).port}`
    const repo = await createRepo(t, { Dockerfile: `FROM ${attackerHost}/team/base:v1\nRUN true\n` })

    const build = await slipway.build({ repo: repo.url, push: false })

    t.equal(build.status, 'failed', 'the base image cannot be pulled without credentials')
    t.same(received, [], `the attacker's registry was sent no credentials (${received.length} Authorization headers)`)
  })
})
