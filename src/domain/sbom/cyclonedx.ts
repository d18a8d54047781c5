import { createHash } from 'node:crypto'
import { ociPurl, type ImagePackage } from './image-package.js'
import { isLicenseExpression } from './license-expression.js'
import { layerInstruction, type SbomSubject } from './subject.js'

export type { SbomSubject } from './subject.js'

const IMAGE_REF = 'image'

/**
 * The CycloneDX 1.5 JSON BOM of an image: the container as metadata.component, which depends on
 * one library component per ImagePackage. The serial number is derived from the build id, so the
 * same build gives the same document.
 */
export function cyclonedxDocument (subject: SbomSubject, packages: ImagePackage[]): object {
  const refs = new Map<string, number>()
  const components = packages.map((pkg) => {
    // A package found twice (two node_modules copies of one version) has one purl: the path tells them apart.
    const seen = refs.get(pkg.purl) ?? 0
    refs.set(pkg.purl, seen + 1)
    const instruction = layerInstruction(subject, pkg.historyIndex)
    const license = pkg.license === null ? [] : isLicenseExpression(pkg.license) ? [{ expression: pkg.license }] : [{ license: { name: pkg.license } }]
    return {
      type: 'library',
      'bom-ref': seen === 0 ? pkg.purl : `${pkg.purl}|${seen + 1}`,
      name: pkg.name,
      version: pkg.version,
      purl: pkg.purl,
      ...(license.length > 0 ? { licenses: license } : {}),
      properties: [
        { name: 'slipway:layer', value: String(pkg.historyIndex) },
        ...(instruction !== undefined ? [{ name: 'slipway:instruction', value: instruction }] : []),
        { name: 'slipway:path', value: pkg.path }
      ]
    }
  })
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${uuidOf(`slipway:build:${subject.buildId}`)}`,
    version: 1,
    metadata: {
      timestamp: subject.created,
      tools: { components: [{ type: 'application', name: subject.tool.name, version: subject.tool.version }] },
      component: {
        type: 'container',
        'bom-ref': IMAGE_REF,
        name: subject.name,
        version: subject.digest ?? subject.buildId,
        ...(subject.digest?.startsWith('sha256:') ? { hashes: [{ alg: 'SHA-256', content: subject.digest.slice('sha256:'.length) }], purl: ociPurl(subject.name, subject.digest) } : {})
      }
    },
    components,
    dependencies: [{ ref: IMAGE_REF, dependsOn: components.map((component) => component['bom-ref']) }]
  }
}

/** A name-based UUID in the manner of RFC 9562's version 5: SHA-1 of the name, version and variant bits set. */
function uuidOf (name: string): string {
  const bytes = createHash('sha1').update(name).digest().subarray(0, 16)
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
