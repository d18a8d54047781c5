import type { Build } from '../schemas/build.js'
import type { ImagePackage } from './image-package.js'
import { cyclonedxDocument } from './cyclonedx.js'
import { spdxDocument, type SbomSubject } from './spdx.js'

// A build's SBOM, written from its record and its package list alone: the API serves it and the
// worker attaches it to the image, and both write the same document.

export const SBOM_FORMATS = ['spdx', 'cyclonedx'] as const
export type SbomFormat = (typeof SBOM_FORMATS)[number]

/** The image's software bill of materials, as SPDX 2.3 or CycloneDX 1.5 JSON. */
export function sbomDocument (build: Build, packages: ImagePackage[], format: SbomFormat, version: string): object {
  const subject = sbomSubject(build, version)
  return format === 'cyclonedx' ? cyclonedxDocument(subject, packages) : spdxDocument(subject, packages)
}

/** The image as the documents name it; its time is when its packages were listed, so a build's document never changes. */
function sbomSubject (build: Build, version: string): SbomSubject {
  const listed = build.phases.findLast((phase) => phase.name === 'inspect')?.finishedAt ?? build.createdAt
  return {
    name: build.image?.repository ?? build.id,
    digest: build.image?.digest ?? null,
    created: listed,
    tool: { name: 'slipway', version },
    buildId: build.id,
    // The image's layers are its history, one entry each, empty ones too: their index is the history index.
    layers: (build.image?.layers ?? []).map((layer, historyIndex) => ({ historyIndex, instruction: layer.instruction }))
  }
}
