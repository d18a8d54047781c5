import t from 'tap'
import { createRepo } from '../helpers/git-repo.js'
import { redisDump } from '../helpers/redis-keys.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

t.test('a registry that requires a password gets the credentials from the Docker config', async (t) => {
  const registry = await startRegistry(t, { username: 'builder', password: 's3cret-pa55' })
  const slipway = await startSlipway(t, { dockerConfig: await registry.writeDockerConfig() })
  // A build that prints the registry password (here given to it as a build arg) and a URL with a token.
  const repo = await createRepo(t, {
    Dockerfile: 'FROM busybox\nARG PASS\nRUN echo "password $PASS" && echo "fetching https://bot:tok3n-abc@git.example.com/x"\n'
  })

  const build = await slipway.build({ repo: repo.url, image: `${registry.host}/private/app`, tags: ['v1'], buildArgs: { PASS: 's3cret-pa55' } })

  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  const response = await fetch(`http://${registry.host}/v2/private/app/manifests/v1`, { method: 'HEAD' })
  t.equal(response.status, 401, 'the registry does require credentials')
  const auth = Buffer.from('builder:s3cret-pa55').toString('base64')
  const served = await fetch(`http://${registry.host}/v2/private/app/manifests/v1`, {
    method: 'HEAD',
    headers: { authorization: `Basic ${auth}`, accept: 'application/vnd.docker.distribution.manifest.v2+json' }
  })
  t.equal(served.headers.get('docker-content-digest'), build.image?.digest)
  const log = await slipway.logs(build.id)
  t.notMatch(log, /s3cret-pa55/, 'the registry password never reaches the log')
  t.match(log, /password \*\*\*/, 'it is masked where it was printed')
  t.notMatch(log, /tok3n-abc/, 'nor a token in a URL')
  t.match(log, /https:\/\/\*\*\*@git\.example\.com\/x/)
  t.match(log, /Pushing to localhost:\d+ as builder/)
})

t.test("a variant's failure passes the redactor like every other message: the password is in no answer and nowhere in Redis", async (t) => {
  const registry = await startRegistry(t, { username: 'builder', password: 's3cret-pa55' })
  const slipway = await startSlipway(t, { dockerConfig: await registry.writeDockerConfig() })
  // The failing step's own text holds the password, and a failure message names its step.
  const repo = await createRepo(t, {
    Dockerfile: 'FROM busybox\nRUN echo fine\n',
    'leaky.Dockerfile': 'FROM busybox\nRUN echo s3cret-pa55 && exit 3\n'
  })

  const build = await slipway.build({ repo: repo.url, variants: [{ name: 'fine' }, { name: 'leaky', dockerfile: 'leaky.Dockerfile' }] })

  t.equal(build.status, 'failed')
  t.match(build.variants, [{ name: 'fine', status: 'succeeded' }, { name: 'leaky', status: 'failed', error: { code: 'BUILD_STEP_FAILED', message: /\*\*\*/ } }])
  const answer = (await slipway.app.inject({ method: 'GET', url: `/v1/builds/${build.id}` })).body
  t.notMatch(answer, /s3cret-pa55/, "not in the build's answer, its variants' rows included")
  t.notMatch(await redisDump(slipway.config), /s3cret-pa55/, 'not in Redis')
})
