import type { Build } from '../domain/schemas/build.js'
import { ProvenanceUnavailable } from '../domain/errors.js'
import { provenanceStatement, provenanceUnavailable, type Installation } from '../domain/supply-chain/provenance.js'

export interface BuildDocumentsDeps {
  /** The build as GET /v1/builds/{id} answers it (404 and 410 as there). */
  getBuild: (id: string) => Promise<Build>
  installation: Installation
  settings: { provenance: 'on' | 'off' }
}

/** The documents a build's image is described by, written from what the build recorded. */
export function createBuildDocuments (deps: BuildDocumentsDeps) {
  return {
    async provenance (id: string) {
      const build = await deps.getBuild(id)
      const why = deps.settings.provenance === 'off' ? 'this server makes none (SLIPWAY_PROVENANCE=off)' : provenanceUnavailable(build)
      if (why !== null) throw new ProvenanceUnavailable(id, why)
      return provenanceStatement(build, deps.installation)
    }
  }
}

export type BuildDocuments = ReturnType<typeof createBuildDocuments>
