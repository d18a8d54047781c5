import type Docker from 'dockerode'
import { adviseDockerfile } from '../../src/insight/advisor.js'
import { mapLayers } from '../../src/insight/layer-map.js'
import type { Builder, Layer } from '../../src/schemas/build.js'
import type { Finding } from '../../src/schemas/insight.js'
import { inspectImage } from '../phases/inspect.js'
import { filesDeletedLater } from './layer-files.js'

export interface ImageInsight {
  sizeBytes: number
  layers: Layer[]
  baseBytes: number
  addedBytes: number
  findings: Finding[]
}

// Reading every layer of a very large image would cost more than the finding is worth.
const SCAN_LIMIT_BYTES = 2 * 1024 ** 3

/**
 * Where the image's bytes are and what would remove them: its layers tied to Dockerfile lines and
 * stages, base bytes apart from added ones, and the advisor's findings, each weighed by the bytes
 * of the layers it points at. Files added in one layer and deleted in a later one are measured in
 * the image itself.
 */
export async function imageInsight(input: {
  docker: Docker
  imageId: string
  builder: Builder
  dockerfile: string
  target: string | null
  buildArgs: Record<string, string>
  labelCount: number
  context: { hasDockerignore: boolean; rootNames: string[] }
}): Promise<ImageInsight> {
  const inspected = await inspectImage(input.docker, input.imageId)
  const mapped = mapLayers({
    dockerfile: input.dockerfile,
    target: input.target,
    buildArgs: input.buildArgs,
    layers: inspected.layers,
    builder: input.builder,
    extraLabelCount: input.labelCount
  })
  const layers: Layer[] = mapped.layers
  const bytesAt = (lines: number[]) => layers.filter((layer) => layer.line !== null && lines.includes(layer.line)).reduce((sum, layer) => sum + layer.sizeBytes, 0)
  const findings: Finding[] = adviseDockerfile({ dockerfile: input.dockerfile, target: input.target, buildArgs: input.buildArgs, context: input.context }).map(
    // A FROM line makes no layer of its own: the base image's layers are what it accounts for.
    (finding) => ({ ...finding, bytes: finding.rule === 'full-base-image' ? mapped.baseBytes : bytesAt(finding.lines) })
  )

  if (inspected.sizeBytes <= SCAN_LIMIT_BYTES) {
    const { findings: deleted, wastedBytes } = await filesDeletedLater(await input.docker.getImage(input.imageId).get(), { minBytes: 1024 })
    if (deleted.length > 0) {
      const lineOf = (historyIndex: number) => layers[historyIndex]?.line ?? null
      const lines = [...new Set(deleted.flatMap((file) => [lineOf(file.addedInHistoryIndex), lineOf(file.deletedInHistoryIndex)]).filter((line): line is number => line !== null))]
      const largest = deleted.slice(0, 3).map((file) => `${file.path} (${file.bytes} bytes)`)
      findings.push({
        rule: 'files-deleted-later',
        lines,
        stage: null,
        message:
          `${deleted.length} file(s) are added in one layer and deleted in a later one, so the image still carries them: ${largest.join(', ')}. ` +
          'Delete them in the same RUN that creates them, or build them in another stage.',
        bytes: wastedBytes
      })
    }
  }
  findings.sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0))
  return { sizeBytes: inspected.sizeBytes, layers, baseBytes: mapped.baseBytes, addedBytes: mapped.addedBytes, findings }
}
