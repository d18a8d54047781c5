import t from 'tap'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

t.test('a registry that requires a password gets the credentials from the Docker config', async (t) => {
  const registry = await startRegistry(t, { username: 'builder', password: 's3cret-pa55' })
  const slipway = await startSlipway(t, { dockerConfig: await registry.writeDockerConfig() })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo private > /private.txt\n' })

  const build = await slipway.build({ repo: repo.url, image: `${registry.host}/private/app`, tags: ['v1'] })

  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  const response = await fetch(`http://${registry.host}/v2/private/app/manifests/v1`, { method: 'HEAD' })
  t.equal(response.status, 401, 'the registry does require credentials')
  const auth = Buffer.from('builder:s3cret-pa55').toString('base64')
  const served = await fetch(`http://${registry.host}/v2/private/app/manifests/v1`, {
    method: 'HEAD',
    headers: { authorization: `Basic ${auth}`, accept: 'application/vnd.docker.distribution.manifest.v2+json' }
  })
  t.equal(served.headers.get('docker-content-digest'), build.image?.digest)
  t.notMatch(await slipway.logs(build.id), /s3cret-pa55/, 'the password never reaches the log')
  t.match(await slipway.logs(build.id), /Pushing to localhost:\d+ as builder/)
})
