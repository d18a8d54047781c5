import { createHash } from 'node:crypto'
import { ociPurl, type ImagePackage } from './image-package.js'
import { isLicenseExpression } from './license-expression.js'
import { layerInstruction, type SbomSubject } from './subject.js'

export type { SbomSubject } from './subject.js'

// The documentNamespace only has to be a unique URI; it is not meant to resolve.
const NAMESPACE_BASE = 'https://slipway.invalid/spdx/builds/'
const NOASSERTION = 'NOASSERTION'
const IMAGE_ID = 'SPDXRef-Image'

/**
 * The SPDX 2.3 JSON document of an image: a CONTAINER package for the image itself, which
 * CONTAINS one package per ImagePackage. Nothing in it is random or read from the clock, so the
 * same build gives the same document.
 */
export function spdxDocument (subject: SbomSubject, packages: ImagePackage[]): object {
  const ids = packages.map((pkg, index) => `SPDXRef-Package-${pkg.ecosystem}-${index + 1}-${pkg.name.replace(/[^A-Za-z0-9.-]+/g, '-')}`)
  const image = {
    name: subject.name,
    SPDXID: IMAGE_ID,
    versionInfo: subject.digest ?? subject.buildId,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    primaryPackagePurpose: 'CONTAINER',
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    ...(subject.digest?.startsWith('sha256:')
      ? {
          checksums: [{ algorithm: 'SHA256', checksumValue: subject.digest.slice('sha256:'.length) }],
          externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: ociPurl(subject.name, subject.digest) }]
        }
      : {}),
    comment: `Built by Slipway build ${subject.buildId}.`
  }
  const contents = packages.map((pkg, index) => {
    const expression = pkg.license !== null && isLicenseExpression(pkg.license)
    const instruction = layerInstruction(subject, pkg.historyIndex)
    return {
      name: pkg.name,
      SPDXID: ids[index],
      versionInfo: pkg.version,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      licenseConcluded: NOASSERTION,
      licenseDeclared: expression ? pkg.license : NOASSERTION,
      ...(pkg.license !== null && !expression ? { licenseComments: `Declared license: ${pkg.license}` } : {}),
      copyrightText: NOASSERTION,
      sourceInfo: `Found at ${pkg.path} in the image.`,
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: pkg.purl }],
      comment: pkg.historyIndex < 0 ? 'The layer that added it could not be lined up with the image history.' : `added by layer ${pkg.historyIndex}${instruction ? `: ${instruction}` : ''}`
    }
  })
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${subject.name}${subject.digest ? `@${subject.digest}` : ''}`,
    documentNamespace: `${NAMESPACE_BASE}${encodeURIComponent(subject.buildId)}/${contentHash(subject, packages)}`,
    creationInfo: { created: subject.created, creators: [`Tool: ${subject.tool.name}-${subject.tool.version}`] },
    packages: [image, ...contents],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: IMAGE_ID },
      ...ids.map((id) => ({ spdxElementId: IMAGE_ID, relationshipType: 'CONTAINS', relatedSpdxElement: id }))
    ]
  }
}

// Two documents of one build that differ (the build rescanned by a newer Slipway) get two namespaces.
function contentHash (subject: SbomSubject, packages: ImagePackage[]): string {
  return createHash('sha256').update(JSON.stringify([subject, packages])).digest('hex').slice(0, 32)
}
