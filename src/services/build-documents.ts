import type { Build } from '../domain/schemas/build.js'
import { ProvenanceUnavailable, SbomUnavailable } from '../domain/errors.js'
import type { ImagePackage } from '../domain/sbom/image-package.js'
import { sbomDocument, type SbomFormat } from '../domain/sbom/sbom-document.js'
import { provenanceStatement, provenanceUnavailable, type Installation } from '../domain/supply-chain/provenance.js'
import type { BuildPackages } from '../storage/build-packages.js'

export interface BuildDocumentsDeps {
  /** The build as GET /v1/builds/{id} answers it (404 and 410 as there). */
  getBuild: (id: string) => Promise<Build>
  packages: Pick<BuildPackages, 'get'>
  installation: Installation
  settings: { provenance: 'on' | 'off'; sbom: 'on' | 'off' }
}

/** The documents a build's image is described by, written from what the build recorded. */
export function createBuildDocuments (deps: BuildDocumentsDeps) {
  return {
    async provenance (id: string) {
      const build = await deps.getBuild(id)
      const why = deps.settings.provenance === 'off' ? 'this server makes none (SLIPWAY_PROVENANCE=off)' : provenanceUnavailable(build)
      if (why !== null) throw new ProvenanceUnavailable(id, why)
      return provenanceStatement(build, deps.installation)
    },

    /** The image's software bill of materials, as SPDX 2.3 or CycloneDX 1.5 JSON. */
    async sbom (id: string, format: SbomFormat) {
      const build = await deps.getBuild(id)
      const packages = await deps.packages.get<ImagePackage[]>(id)
      if (packages === null) throw new SbomUnavailable(id, whyNoPackages(build, deps.settings.sbom))
      return sbomDocument(build, packages, format, deps.installation.version)
    }
  }
}

export type BuildDocuments = ReturnType<typeof createBuildDocuments>

function whyNoPackages (build: Build, setting: 'on' | 'off'): string {
  if (!build.request.sbom) return 'its request did not ask for one (sbom: false, or a build that pushes nothing). Build again with "sbom": true'
  if (setting === 'off') return 'this server lists no packages (SLIPWAY_SBOM=off)'
  if (build.status === 'queued' || build.status === 'running') return `it is still ${build.status}; its packages are listed once its image is built`
  if (build.request.variants.length > 0) return 'a build with variants lists no packages; build each variant on its own'
  return "its image's packages were not listed; its log (inspect phase) says why"
}
