import t from 'tap'
import { sbomSchemas } from '../../helpers/sbom-schemas.js'
import { cyclonedxDocument } from '../../../src/domain/sbom/cyclonedx.js'
import type { ImagePackage } from '../../../src/domain/sbom/image-package.js'
import { spdxDocument, type SbomSubject } from '../../../src/domain/sbom/spdx.js'

const subject: SbomSubject = {
  name: 'registry.example.com/team/app',
  digest: 'sha256:' + 'ab'.repeat(32),
  created: '2026-12-03T22:00:00Z',
  tool: { name: 'slipway', version: '0.1.0' },
  buildId: '01HXBUILD',
  layers: [
    { historyIndex: 0, instruction: 'FROM debian:bookworm-slim' },
    { historyIndex: 2, instruction: 'RUN npm ci' }
  ]
}
const packages: ImagePackage[] = [
  { ecosystem: 'deb', name: 'libc6', version: '2.36-9', purl: 'pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12', license: null, historyIndex: 0, path: '/var/lib/dpkg/status' },
  { ecosystem: 'npm', name: '@scope/pkg', version: '1.0.0', purl: 'pkg:npm/%40scope/pkg@1.0.0', license: '(MIT OR Apache-2.0)', historyIndex: 2, path: '/app/node_modules/@scope/pkg/package.json' },
  { ecosystem: 'npm', name: '@scope/pkg', version: '1.0.0', purl: 'pkg:npm/%40scope/pkg@1.0.0', license: 'MIT', historyIndex: 2, path: '/app/node_modules/x/node_modules/@scope/pkg/package.json' },
  { ecosystem: 'pypi', name: 'six', version: '1.16.0', purl: 'pkg:pypi/six@1.16.0', license: 'MIT License', historyIndex: -1, path: '/usr/lib/python3/dist-packages/six-1.16.0.egg-info' }
]

t.test('SPDX 2.3', async (t) => {
  const document = spdxDocument(subject, packages) as Record<string, any>
  t.same(spdxDocument(subject, packages), document, 'the same input gives the same document')
  t.match(document, { spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', creationInfo: { created: subject.created, creators: ['Tool: slipway-0.1.0'] } })
  t.match(document.documentNamespace, /^https:\/\/[^ ]*01HXBUILD[^ ]*$/)
  t.not((spdxDocument({ ...subject, buildId: 'other' }, packages) as Record<string, any>).documentNamespace, document.documentNamespace)
  const [image, ...contents] = document.packages as Record<string, any>[]
  t.match(image, { SPDXID: 'SPDXRef-Image', primaryPackagePurpose: 'CONTAINER', checksums: [{ algorithm: 'SHA256', checksumValue: 'ab'.repeat(32) }], externalRefs: [{ referenceType: 'purl', referenceLocator: `pkg:oci/app@sha256%3A${'ab'.repeat(32)}?repository_url=registry.example.com/team/app` }] })
  t.equal(contents.length, 4)
  const ids = (document.packages as { SPDXID: string }[]).map((pkg) => pkg.SPDXID)
  t.equal(new Set(ids).size, ids.length, 'unique SPDXIDs')
  t.ok(ids.every((id) => /^SPDXRef-[A-Za-z0-9.-]+$/.test(id)), ids.join(' '))
  t.match(contents[0], { name: 'libc6', versionInfo: '2.36-9', downloadLocation: 'NOASSERTION', filesAnalyzed: false, licenseConcluded: 'NOASSERTION', licenseDeclared: 'NOASSERTION', comment: 'added by layer 0: FROM debian:bookworm-slim', externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: packages[0]?.purl }] })
  t.match(contents[1], { licenseDeclared: '(MIT OR Apache-2.0)', comment: 'added by layer 2: RUN npm ci' })
  t.notOk('licenseComments' in (contents[1] ?? {}))
  t.match(contents[3], { licenseDeclared: 'NOASSERTION', licenseComments: 'Declared license: MIT License', comment: /could not be lined up/ })
  t.same(document.relationships[0], { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Image' })
  t.same(document.relationships.slice(1).map((relationship: { relatedSpdxElement: string }) => relationship.relatedSpdxElement), ids.slice(1))
  t.ok(document.relationships.slice(1).every((relationship: { spdxElementId: string; relationshipType: string }) => relationship.spdxElementId === 'SPDXRef-Image' && relationship.relationshipType === 'CONTAINS'))

  const unpushed = spdxDocument({ ...subject, digest: null }, []) as Record<string, any>
  t.match(unpushed.packages, [{ versionInfo: '01HXBUILD' }])
  t.notOk('checksums' in unpushed.packages[0])
})

t.test('CycloneDX 1.5', async (t) => {
  const bom = cyclonedxDocument(subject, packages) as Record<string, any>
  t.same(cyclonedxDocument(subject, packages), bom, 'the same input gives the same document')
  t.match(bom, { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 })
  t.match(bom.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.not((cyclonedxDocument({ ...subject, buildId: 'other' }, packages) as Record<string, any>).serialNumber, bom.serialNumber)
  t.same(bom.metadata.tools, { components: [{ type: 'application', name: 'slipway', version: '0.1.0' }] })
  t.match(bom.metadata.component, { type: 'container', 'bom-ref': 'image', name: subject.name, version: subject.digest })
  const refs = (bom.components as { 'bom-ref': string }[]).map((component) => component['bom-ref'])
  t.equal(new Set(refs).size, refs.length, 'unique bom-refs')
  t.same(refs[1], 'pkg:npm/%40scope/pkg@1.0.0')
  t.match(bom.components[0], { type: 'library', name: 'libc6', version: '2.36-9', purl: packages[0]?.purl })
  t.notOk('licenses' in bom.components[0])
  t.same(bom.components[1].licenses, [{ expression: '(MIT OR Apache-2.0)' }])
  t.same(bom.components[3].licenses, [{ license: { name: 'MIT License' } }])
  t.same(bom.components[1].properties, [
    { name: 'slipway:layer', value: '2' },
    { name: 'slipway:instruction', value: 'RUN npm ci' },
    { name: 'slipway:path', value: '/app/node_modules/@scope/pkg/package.json' }
  ])
  t.same(bom.dependencies, [{ ref: 'image', dependsOn: refs }])
})

t.test('the published JSON schemas', async (t) => {
  const ajv = await sbomSchemas()
  for (const [schema, document] of [
    ['spdx-2.3.schema.json', spdxDocument(subject, packages)],
    ['spdx-2.3.schema.json', spdxDocument({ ...subject, digest: null }, [])],
    ['bom-1.5.schema.json', cyclonedxDocument(subject, packages)],
    ['bom-1.5.schema.json', cyclonedxDocument({ ...subject, digest: null }, [])]
  ] as const) {
    const valid = ajv.validate(schema, document)
    t.ok(valid, schema, { errors: ajv.errors })
  }
  // The schemas do bite: a package without its SPDXID, a component of an unknown type.
  t.notOk(ajv.validate('spdx-2.3.schema.json', { ...spdxDocument(subject, packages), packages: [{ name: 'x', downloadLocation: 'NOASSERTION' }] }))
  t.notOk(ajv.validate('bom-1.5.schema.json', { ...cyclonedxDocument(subject, packages), components: [{ type: 'gadget', name: 'x' }] }))
})
