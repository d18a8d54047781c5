import { randomUUID } from 'node:crypto'
import t from 'tap'
import { layerLabels } from '../../src/domain/build-summary.js'
import { docker, registryDigest, removeImage } from '../helpers/docker.js'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// Where an image's bytes go, measured. busybox stands in for a distribution here: a fake apt-get
// lets a Dockerfile make the mistakes the advisor knows, and `head -c N /dev/urandom` makes bytes
// that no layer can compress away.

const FAKE_APT = 'RUN printf \'#!/bin/sh\\nexit 0\\n\' > /bin/apt-get && chmod +x /bin/apt-get'

t.test('layers are tied to their lines and stages; base bytes apart from added ones; they add up', async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, {
    Dockerfile: [
      // Another image than the final stage's: the build must know which one the base layers came from.
      'FROM debian:bookworm-slim AS build',
      'RUN head -c 1000000 /dev/urandom > /artifact',
      'FROM busybox',
      'ENV APP=demo',
      'COPY --from=build /artifact /app/artifact',
      `RUN head -c 2000000 /dev/urandom > /app/data && echo ${randomUUID()} > /app/id`,
      ''
    ].join('\n')
  })
  for (const builder of ['classic', 'buildkit'] as const) {
    const build = await slipway.build({ repo: repo.url, builder, force: true })
    t.equal(build.status, 'succeeded', JSON.stringify(build.error))
    const image = build.image!
    const copy = image.layers.find((layer) => !layer.fromBase && layer.instruction.startsWith('COPY'))
    t.match(copy, { line: 5, stage: 'stage-1', fromBase: false }, `${builder}: the COPY layer names its line and stage`)
    t.ok(Math.abs(copy!.sizeBytes - 1_000_000) < 50_000, `${builder}: and its bytes (${copy!.sizeBytes})`)
    t.match(image.layers.find((layer) => layer.instruction.startsWith('RUN head -c 2000000')), { line: 6 })
    t.ok(image.layers.filter((layer) => layer.fromBase).length > 0, `${builder}: busybox's own layers are marked as the base`)
    t.same(build.baseImages?.map((base) => base.name), ['busybox', 'debian:bookworm-slim'], `${builder}: the image's own base first`)
    const labels = layerLabels(image, build)
    t.match(labels[image.layers.indexOf(copy!)], 'line 5 COPY --from=build /artifact /app/artifact', `${builder}: the COPY named by its Dockerfile line`)
    t.match(labels.filter((_, index) => image.layers[index]!.fromBase), [/^busybox \(base image/], `${builder}: the base layer by the base image`)
    t.ok(Math.abs(image.baseBytes - 1_990_000) < 20_000, `${builder}: base bytes (${image.baseBytes})`)
    t.equal(image.baseBytes + image.addedBytes, image.sizeBytes, `${builder}: base and added bytes make the size`)
    const sum = image.layers.reduce((total, layer) => total + layer.sizeBytes, 0)
    t.ok(Math.abs(sum - image.sizeBytes) <= image.sizeBytes * 0.01, `${builder}: layer sizes sum to the image size within 1%`)
  }
})

t.test('the advisor weighs each finding by the bytes of the layers it points at', async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, {
    Dockerfile: [
      'FROM busybox',
      FAKE_APT,
      `RUN apt-get update && apt-get install -y build-essential && head -c 3000000 /dev/urandom > /toolchain && echo ${randomUUID()}`,
      'RUN head -c 2000000 /dev/urandom > /download.tar',
      'RUN rm /download.tar',
      ''
    ].join('\n')
  })
  const build = await slipway.build({ repo: repo.url })
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  const findings = build.image!.findings
  const byRule = (rule: string) => findings.find((finding) => finding.rule === rule)
  t.match(byRule('build-tools-in-final-stage'), { lines: [3], message: /build-essential/ })
  t.ok(byRule('build-tools-in-final-stage')!.bytes! > 2_900_000, 'weighed by its layer')
  t.ok(byRule('package-cache-kept'), 'apt lists kept')
  t.ok(byRule('apt-no-install-recommends'))
  const deleted = byRule('files-deleted-later')
  t.match(deleted, { lines: [4, 5], message: /\/download\.tar/ }, 'a file added then deleted is found in the layers')
  t.ok(Math.abs(deleted!.bytes! - 2_000_000) < 10_000, `and measured (${deleted!.bytes})`)
  t.ok(findings.every((finding, i) => i === 0 || (findings[i - 1]!.bytes ?? 0) >= (finding.bytes ?? 0)), 'largest first')
  const log = await slipway.logs(build.id)
  t.match(log, /advice \(build-tools-in-final-stage, 3(\.\d+)? MB\)/, 'the log summary gives the top advice')
})

t.test('a full base image is weighed by the bytes the base brings', async (t) => {
  // busybox under a python:3.12 name on a registry that does not exist: the classic builder uses
  // the local image without pulling, and the advisor reads the name as the official full image.
  const fullBase = 'localhost:5999/library/python:3.12'
  await docker.getImage('busybox').tag({ repo: 'localhost:5999/library/python', tag: '3.12' })
  t.teardown(() => removeImage(fullBase))
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, { Dockerfile: `FROM ${fullBase}\nRUN echo ${randomUUID()} > /id\n` })
  const build = await slipway.build({ repo: repo.url, builder: 'classic' })
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  const finding = build.image!.findings.find((candidate) => candidate.rule === 'full-base-image')
  t.match(finding, { lines: [1], message: /python:3\.12-slim/ })
  t.equal(finding!.bytes, build.image!.baseBytes, 'the base image bytes')
  t.ok(build.image!.baseBytes > 1_900_000)
})

t.test('size over time: the change against the previous build, and the history for a chart', async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN head -c 1000000 /dev/urandom > /data && echo ${randomUUID()}\n` })
  const first = await slipway.build({ repo: repo.url })
  t.equal(first.image?.sizeDelta, null, 'nothing to compare the first build with')
  await repo.commit({ Dockerfile: `FROM busybox\nRUN head -c 3000000 /dev/urandom > /data && echo ${randomUUID()}\n` })
  const second = await slipway.build({ repo: repo.url })
  const delta = second.image!.sizeDelta!
  t.equal(delta.comparedWith, first.id)
  t.ok(Math.abs(delta.bytes - 2_000_000) < 10_000, `about 2 MB more (${delta.bytes})`)
  t.match(delta.layers[0], { line: 2, beforeBytes: Number, afterBytes: Number }, 'the layer that grew')

  const key = encodeURIComponent(repo.url)
  const history = (await slipway.app.inject({ method: 'GET', url: `/v1/repos/${key}/sizes` })).json<{ items: { buildId: string; sizeBytes: number }[] }>()
  t.same(history.items.slice(0, 2).map((point) => point.buildId), [first.id, second.id], 'oldest first')
  t.ok(history.items[1]!.sizeBytes > history.items[0]!.sizeBytes)
})

t.test('a size budget: fail keeps the image out of the registry; warn succeeds with a warning', async (t) => {
  const slipway = await startSlipway(t)
  const registry = await startRegistry(t)
  const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN head -c 2000000 /dev/urandom > /data && echo ${randomUUID()}\n` })
  const image = `${registry.host}/budget/app`
  const failed = await slipway.build({ repo: repo.url, image, tags: ['fail'], maxImageBytes: 3_000_000 })
  t.match(failed, { status: 'failed', error: { code: 'IMAGE_TOO_LARGE', phase: 'inspect' } })
  t.notOk(failed.phases.some((phase) => phase.name === 'push'), 'no push was tried')
  t.equal(await registryDigest(registry.host, 'budget/app', 'fail'), null, 'the registry has nothing')
  const warned = await slipway.build({ repo: repo.url, image, tags: ['warn'], maxImageBytes: 3_000_000, budgetMode: 'warn' })
  t.match(warned, { status: 'succeeded', image: { budget: { maxBytes: 3_000_000, mode: 'warn', exceeded: true } } })
  t.match(warned.warnings[0], /over its budget of 3 MB/)
  t.ok(await registryDigest(registry.host, 'budget/app', 'warn'))
})

t.test('variants: one commit built several ways, compared', async (t) => {
  const slipway = await startSlipway(t)
  const nonce = randomUUID()
  const repo = await createRepo(t, {
    Dockerfile: `FROM busybox\nRUN head -c 4000000 /dev/urandom > /toolchain && head -c 500000 /dev/urandom > /app && echo ${nonce}\n`,
    'Dockerfile.multistage': `FROM busybox AS build\nRUN head -c 4000000 /dev/urandom > /toolchain && head -c 500000 /dev/urandom > /app && echo ${nonce}\nFROM busybox\nCOPY --from=build /app /app\n`
  })
  const build = await slipway.build({
    repo: repo.url,
    tags: ['cmp'],
    variants: [{ name: 'single' }, { name: 'multi', dockerfile: 'Dockerfile.multistage' }]
  })
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  const [single, multi] = build.variants
  t.match(single, { name: 'single', status: 'succeeded', dockerfile: 'Dockerfile', tags: [/:cmp-single$/] })
  t.match(multi, { name: 'multi', status: 'succeeded', dockerfile: 'Dockerfile.multistage', tags: [/:cmp-multi$/] })
  t.ok(single!.sizeBytes! > multi!.sizeBytes! + 3_900_000, `multi-stage is smaller (${single!.sizeBytes} vs ${multi!.sizeBytes})`)
  t.ok(build.phases.some((phase) => phase.variant === 'multi' && phase.name === 'build'), 'phases say which variant they built')
  t.match(await slipway.logs(build.id), /variants compared[\s\S]*single[\s\S]*multi/)
})

t.test('POST /v1/lint: findings for a Dockerfile, without building', async (t) => {
  const slipway = await startSlipway(t)
  const bloated = 'FROM python:3.12\nCOPY . /app\nRUN apt-get update\nRUN apt-get install -y gcc && pip install -r /app/requirements.txt\n'
  const answer = await slipway.app.inject({ method: 'POST', url: '/v1/lint', payload: { dockerfile: bloated } })
  t.equal(answer.statusCode, 200)
  const rules = answer.json<{ findings: { rule: string }[] }>().findings.map((finding) => finding.rule)
  for (const rule of ['full-base-image', 'apt-update-alone', 'build-tools-in-final-stage', 'package-cache-kept', 'source-before-dependencies']) {
    t.ok(rules.includes(rule), rule)
  }
  const clean = 'FROM python:3.12-slim AS build\nRUN apt-get update && apt-get install -y --no-install-recommends gcc && rm -rf /var/lib/apt/lists/*\nFROM python:3.12-slim\nCOPY --from=build /w /w\n'
  t.same((await slipway.app.inject({ method: 'POST', url: '/v1/lint', payload: { dockerfile: clean } })).json(), { findings: [] })
})
