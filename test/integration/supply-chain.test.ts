import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { createRepo } from '../helpers/git-repo.js'
import { docker, pull, registryDigest, removeImage } from '../helpers/docker.js'
import { startRegistry } from '../helpers/registry.js'
import { sbomSchemas } from '../helpers/sbom-schemas.js'
import { startSlipway } from '../helpers/slipway.js'

// What a pushed image is described by, through the live service: its software bill of materials
// and provenance statement, read back against the image itself, the registry and the engine.

const exec = promisify(execFile)

// A package of our own, made and installed in the build with dpkg (RUN steps have no network).
const deb = (name: string) =>
  `mkdir -p /tmp/${name}/DEBIAN && printf 'Package: ${name}\\nVersion: 1.0-1\\nArchitecture: all\\nMaintainer: test <t@example.com>\\nDescription: test\\n' > /tmp/${name}/DEBIAN/control && dpkg-deb --build /tmp/${name} /tmp/${name}.deb >/dev/null && dpkg -i /tmp/${name}.deb >/dev/null && rm -rf /tmp/${name} /tmp/${name}.deb`

t.test('the SBOM lists what is in the final image, each package with its layer, in both formats', async (t) => {
  const slipway = await startSlipway(t)
  const registry = await startRegistry(t)
  const repo = await createRepo(t, {
    Dockerfile: [
      'FROM node:20-bookworm-slim',
      `RUN ${deb('slipway-kept')}`,
      `RUN ${deb('slipway-gone')}`,
      'COPY app /app',
      'COPY site-packages /usr/local/lib/python3.11/site-packages',
      'RUN dpkg -r slipway-gone >/dev/null && rm -rf /app/node_modules/leftover',
      ''
    ].join('\n'),
    'app/package.json': '{"name":"app","version":"1.0.0"}\n',
    'app/node_modules/left-pad/package.json': '{"name":"left-pad","version":"1.3.0","license":"WTFPL"}\n',
    'app/node_modules/@acme/util/package.json': '{"name":"@acme/util","version":"2.0.0","license":"MIT OR Apache-2.0"}\n',
    'app/node_modules/leftover/package.json': '{"name":"leftover","version":"0.0.1"}\n',
    'site-packages/Flask-2.3.2.dist-info/METADATA': 'Metadata-Version: 2.1\nName: Flask\nVersion: 2.3.2\nLicense-Expression: BSD-3-Clause\n'
  })
  const image = `${registry.host}/team/sbom`
  const build = await slipway.build({ repo: repo.url, image, builder: 'buildkit' })
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  t.match(await slipway.logs(build.id), /Listed \d+ packages of the image \(deb \d+, pypi 1, npm \d+\)/)

  const spdxAnswer = await slipway.app.inject({ method: 'GET', url: `/v1/builds/${build.id}/sbom` })
  t.equal(spdxAnswer.statusCode, 200, spdxAnswer.statusCode === 200 ? 'GET …/sbom' : spdxAnswer.body)
  t.match(spdxAnswer.headers['content-type'], /^application\/spdx\+json/)
  const spdx = spdxAnswer.json()
  const cdxAnswer = await slipway.app.inject({ method: 'GET', url: `/v1/builds/${build.id}/sbom?format=cyclonedx` })
  t.match(cdxAnswer.headers['content-type'], /^application\/vnd\.cyclonedx\+json/)
  const cyclonedx = cdxAnswer.json()

  const ajv = await sbomSchemas()
  t.ok(ajv.validate('spdx-2.3.schema.json', spdx), 'SPDX 2.3 by its published schema', { errors: ajv.errors })
  t.ok(ajv.validate('bom-1.5.schema.json', cyclonedx), 'CycloneDX 1.5 by its published schema', { errors: ajv.errors })

  // The Debian packages are those dpkg itself reports inside the pushed image.
  const pushed = `${image}@${build.image!.digest!}`
  t.teardown(() => removeImage(pushed))
  await pull(pushed)
  const { stdout } = await exec('docker', ['run', '--rm', '--network', 'none', pushed, 'dpkg-query', '-W', '-f', '${Package} ${Version}\\n'])
  const components = cyclonedx.components as { name: string; version: string; purl: string; properties: { name: string; value: string }[] }[]
  const debs = components.filter((component) => component.purl.startsWith('pkg:deb/')).map((component) => `${component.name} ${component.version}`).sort()
  t.same(debs, stdout.trim().split('\n').sort(), 'the deb packages are what dpkg-query lists in the image')
  t.notOk(debs.some((line) => line.startsWith('slipway-gone')), 'a package removed in a later layer is not listed')

  const layerOf = (name: string) => Number(components.find((component) => component.name === name)?.properties.find((property) => property.name === 'slipway:layer')?.value)
  const instructionOf = (name: string) => build.image!.layers[layerOf(name)]?.instruction ?? ''
  t.match(instructionOf('slipway-kept'), /slipway-kept/, 'a package is tied to the layer that installed it')
  t.match(instructionOf('left-pad'), /^COPY app/, 'an npm package to the COPY that brought it')
  t.match(instructionOf('Flask'), /^COPY site-packages/)
  t.ok(components.some((component) => component.name === 'npm'), "the base image's own npm")
  t.notOk(components.some((component) => component.name === 'leftover'), 'a package a later layer deleted is not listed')
  t.match(components.find((component) => component.name === '@acme/util'), { purl: 'pkg:npm/%40acme/util@2.0.0' })
  t.equal(build.packages?.count, components.length, "the build's count is the document's")
  t.equal(build.packages?.byEcosystem.pypi, 1)
  t.same((spdx.packages as unknown[]).length, components.length + 1, 'SPDX lists the same packages, and the image')
  t.match(spdx.packages[0], { primaryPackagePurpose: 'CONTAINER', checksums: [{ algorithm: 'SHA256', checksumValue: build.image!.digest!.replace('sha256:', '') }] })

  const unasked = await slipway.build({ repo: repo.url, image, sbom: false, force: true })
  const refused = await slipway.app.inject({ method: 'GET', url: `/v1/builds/${unasked.id}/sbom` })
  t.equal(refused.statusCode, 409)
  t.match(refused.json(), { code: 'SBOM_NOT_AVAILABLE', message: /did not ask for one/ })
  t.equal(unasked.packages, null)
})

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
  // busybox's own registry digest where the engine has one; a digest it got from a push to
  // another repository is not busybox's.
  const ownDigest = busybox.RepoDigests?.find((reference) => /^(docker\.io\/)?(library\/)?busybox@/.test(reference))
  t.match(dependencies[1], { uri: /^pkg:docker\/busybox/, digest: { sha256: ownDigest?.split('@sha256:')[1] ?? busybox.Id.replace('sha256:', '') } }, 'the base image the engine built on')
  t.same(statement.predicate.buildDefinition.externalParameters.buildArgs, { GREETING: 'hi', API_TOKEN: '(redacted)' })
  t.notOk(response.body.includes('tok-123'), 'no secret-looking value')
  t.same(build.baseImages?.map((base) => base.name), ['busybox'], 'the build lists its base images')

  const local = await slipway.build({ repo: repo.url })
  const refused = await slipway.app.inject({ method: 'GET', url: `/v1/builds/${local.id}/provenance` })
  t.equal(refused.statusCode, 409)
  t.match(refused.json(), { code: 'PROVENANCE_NOT_AVAILABLE', message: /did not ask for provenance/ })
})
