import type { Build } from '../schemas/build.js'
import type { ImagePackage } from '../sbom/image-package.js'
import { sbomDocument } from '../sbom/sbom-document.js'
import { provenanceStatement, STATEMENT_TYPE, type Installation } from './provenance.js'

// What a pushed image carries in the registry: in-toto statements about its digest, each with a
// predicate type verifiers select by (`cosign verify-attestation --type`).

export const SPDX_PREDICATE = 'https://spdx.dev/Document'
export const CYCLONEDX_PREDICATE = 'https://cyclonedx.org/bom'

export interface Statement {
  predicateType: string
  statement: object
}

/**
 * The statements for a build whose image was pushed (image.digest set): its provenance when
 * `provenance`, its SBOM in both formats when its packages were listed. Written by the same
 * functions that serve /v1/builds/{id}/provenance and /sbom, so the registry holds what the API says.
 */
export function imageStatements (build: Build, input: { provenance: boolean; packages: ImagePackage[] | null; installation: Installation }): Statement[] {
  const { image } = build
  if (!image?.digest) throw new Error(`build ${build.id} pushed no image`)
  const subject = [{ name: image.repository, digest: { sha256: image.digest.replace(/^sha256:/, '') } }]
  const sbom = (format: 'spdx' | 'cyclonedx', predicateType: string): Statement => ({
    predicateType,
    statement: { _type: STATEMENT_TYPE, subject, predicateType, predicate: sbomDocument(build, input.packages ?? [], format, input.installation.version) }
  })
  const provenance = input.provenance ? provenanceStatement(build, input.installation) : null
  return [
    ...(provenance ? [{ predicateType: provenance.predicateType, statement: provenance }] : []),
    ...(input.packages ? [sbom('spdx', SPDX_PREDICATE), sbom('cyclonedx', CYCLONEDX_PREDICATE)] : [])
  ]
}
