import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { ulid } from 'ulid'
import { chromiumMissing, CHROMIUM, openPortal } from '../helpers/browser.js'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'

// What the build page says of a pushed image's signature and attestations: a build really signed
// with a key of the server's, pushed to a real registry; and the same build, as stored, had it not
// been signed.

if (chromiumMissing) {
  t.plan(0, `the portal's browser tests need ${CHROMIUM} (Debian's chromium package; scripts/setup.sh installs it)`)
} else {
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const registry = await startRegistry(t)
  const { slipway, storage, page, screenshot, visit } = await openPortal(t, 'portal-attestations', { signingKey })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nCOPY app /app\n', 'app/index.js': 'console.log(1)\n' })
  const image = `${registry.host}/team/x`
  const build = await slipway.build({ repo: repo.url, image, tags: ['v1'] })
  t.equal(build.status, 'succeeded', build.error?.message ?? 'the signed build succeeded')

  t.test('a signed build: the key and where the signature is, and each statement attached', async (t) => {
    await visit(`#/builds/${build.id}`)
    await page.locator('#signature').waitFor()
    const keyId = build.signature!.keyId
    t.equal(await page.locator('#signature').innerText(), `Signed with key ${keyId.slice(0, 19)}…; the signature is at ${build.signature!.reference}`)
    t.match(build.signature!.reference, `${image}@sha256:`)
    const rows = (await page.locator('table.attestations tbody tr').allInnerTexts()).map((row) => row.split('\t'))
    t.same(rows.map(([name]) => name), ['provenance', 'SPDX', 'CycloneDX'], 'each statement by name, in the order attached')
    t.same(
      rows.map(([, ...rest]) => rest),
      build.attestations!.map((attestation) => [`${attestation.digest.slice(0, 19)}…`, attestation.reference, 'yes']),
      'its digest short, where it is, and signed'
    )
    await screenshot('signature-and-attestations')
  })

  t.test('a build that asked for no signature says so', async (t) => {
    const record = (await storage.builds.get(build.id))!
    const unsigned = { ...record, id: ulid(), request: { ...record.request, sign: false }, signature: null, attestations: null }
    await storage.builds.create(unsigned)
    await visit(`#/builds/${unsigned.id}`)
    await page.locator('#signature').waitFor()
    t.equal(await page.locator('#signature').innerText(), 'Not signed: the build asked for none (sign: false).')
    t.equal(await page.locator('table.attestations').count(), 0)
  })
}
