/** The image an SBOM describes, and what made it. */
export interface SbomSubject {
  /** The image repository, or the build id when it was not pushed. */
  name: string
  /** sha256:… of the pushed image, or null. */
  digest: string | null
  /** ISO time. */
  created: string
  tool: { name: 'slipway'; version: string }
  buildId: string
  /** The image's history entries that made a layer, with their Dockerfile instruction. */
  layers: { historyIndex: number; instruction: string }[]
}

/** What says which layer added a package, for a comment or a property. */
export function layerInstruction (subject: SbomSubject, historyIndex: number): string | undefined {
  return subject.layers.find((layer) => layer.historyIndex === historyIndex)?.instruction
}
