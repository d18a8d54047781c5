import t from 'tap'
import { ulid } from 'ulid'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import type { ImagePackage } from '../../src/domain/sbom/image-package.js'
import type { BuildRecord } from '../../src/domain/schemas/build.js'
import { chromiumMissing, CHROMIUM, openPortal } from '../helpers/browser.js'
import { defaultRequest } from '../helpers/fixtures.js'

// What the portal shows of an image's SBOM, beside its layer chart: the packages counted by
// ecosystem, and opened, by the layer that added them. The worker's side (listing them from real
// images) is tested with the worker; here the build and its list are stored as the worker leaves
// them and read through the API like any other.

const DIGEST = `sha256:${'ab'.repeat(32)}`
const pkg = (ecosystem: ImagePackage['ecosystem'], name: string, version: string, historyIndex: number): ImagePackage =>
  ({ ecosystem, name, version, purl: `pkg:${ecosystem}/${name}@${version}`, license: null, historyIndex, path: '/somewhere' })

if (chromiumMissing) {
  t.plan(0, `the portal's browser tests need ${CHROMIUM} (Debian's chromium package; scripts/setup.sh installs it)`)
} else {
  const { storage, page, screenshot, visit } = await openPortal(t, 'portal-packages')

  const finished = new Date().toISOString()
  const build: BuildRecord = {
    ...newBuildRecord(ulid(), { ...defaultRequest('https://git.example.com/acme/app.git', 'registry.example.com/acme/app'), push: true, sbom: true }, new Date()),
    status: 'succeeded',
    startedAt: finished,
    finishedAt: finished,
    durationMs: 1000,
    phases: [
      { name: 'build', status: 'succeeded', startedAt: finished, finishedAt: finished, durationMs: 10 },
      { name: 'inspect', status: 'succeeded', startedAt: finished, finishedAt: finished, durationMs: 10 }
    ],
    image: {
      id: 'sha256:1',
      repository: 'registry.example.com/acme/app',
      tags: ['registry.example.com/acme/app:v1'],
      pushed: true,
      digest: DIGEST,
      sizeBytes: 80_000_000,
      layers: [
        { instruction: 'Imported from -', sizeBytes: 75_000_000, createdAt: null, line: null, stage: null, fromBase: true },
        { instruction: 'COPY app /app', sizeBytes: 5_000_000, createdAt: null, line: 4, stage: null, fromBase: false }
      ],
      baseBytes: 75_000_000,
      addedBytes: 5_000_000,
      sizeDelta: null,
      findings: [{ rule: 'apt-update-alone', lines: [3], stage: 'stage-0', message: 'Join `apt-get update` with the install: `RUN <b>apt-get</b> install` and a stray ` backtick', bytes: 1000 }],
      budget: null
    },
    packages: { count: 3, byEcosystem: { deb: 2, apk: 0, pypi: 0, npm: 1, golang: 0 } },
    baseImages: [{ name: 'debian:bookworm-slim', digest: null, imageId: 'sha256:2' }],
    steps: [{ stage: 'stage-0', instruction: 'COPY app /app', status: 'succeeded', cached: false, startedAt: null, durationMs: null, line: 4 }]
  }
  await storage.builds.create(build)
  await storage.buildPackages.set(build.id, [pkg('deb', 'libc6', '2.36-9', 0), pkg('deb', 'zlib1g', '1.2.13', 0), pkg('npm', 'left-pad', '1.3.0', 1)])
  const unlisted: BuildRecord = { ...build, id: ulid(), packages: null, request: { ...build.request, sbom: false } }
  await storage.builds.create(unlisted)

  t.test("the build page counts the image's packages, and opened lists them by the layer that added them", async (t) => {
    await visit(`#/builds/${build.id}`)
    await page.locator('#packages summary').waitFor()
    t.equal(await page.locator('#packages summary').innerText(), '3 packages (deb 2, npm 1): by the layer that added them')
    await page.click('#packages summary')
    await page.locator('table.packages tbody tr').nth(1).waitFor()
    const rows = await page.locator('table.packages tbody tr').allInnerTexts()
    t.match(rows[0], /^debian:bookworm-slim \(base image\)\s+deb 2\s+libc6 2\.36-9, zlib1g 1\.2\.13/, 'the base image layer, by the base image, with its Debian packages')
    t.match(rows[1], /^line 4 COPY app \/app\s+npm 1\s+left-pad 1\.3\.0/, 'the COPY that brought the npm package, by its line')
    const chart = await page.locator('.layers-chart .label').allTextContents()
    t.same(chart, ['debian:bookworm-slim (base image)', 'line 4 COPY app /app'], 'the chart names the layers the same way')
    await screenshot('packages-by-layer')
  })

  t.test("the advisor's findings: an unnamed stage counted from 1, code spans as code, and nothing parsed as HTML", async (t) => {
    await visit(`#/builds/${build.id}`)
    const finding = page.locator('ol.findings li').first()
    await finding.waitFor()
    t.match(await finding.innerText(), /^apt-update-alone · 1 kB · line 3 · stage 1\n/)
    t.same(await finding.locator('.finding-message code').allInnerTexts(), ['apt-get update', 'RUN <b>apt-get</b> install'])
    t.equal(await finding.locator('.finding-message').innerText(), 'Join apt-get update with the install: RUN <b>apt-get</b> install and a stray ` backtick')
    t.equal(await finding.locator('b').count(), 0, 'the message is text, never markup')
    t.same(await page.locator('#image dl.facts code').filter({ hasText: 'apt-get update' }).count(), 1, 'the summary line of the advisor shows its code spans too')
    t.equal(await page.locator('.timeline tr.step .instruction').innerText(), 'line 4 stage 1 COPY app /app', 'the timeline counts unnamed stages from 1 too')
    await screenshot('findings-code-spans')
  })

  t.test('a build without an SBOM says why', async (t) => {
    await visit(`#/builds/${unlisted.id}`)
    await page.locator('#packages').waitFor()
    t.equal(await page.locator('#packages').innerText(), 'Its packages were not listed: the build did not ask for an SBOM.')
  })
}
