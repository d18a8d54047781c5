import type Docker from 'dockerode'
import { adviseDockerfile } from '../../src/domain/insight/advisor.js'
import type { ParsedDockerfile } from '../../src/domain/insight/dockerfile-stages.js'
import { historyKeyword, mapLayers } from '../../src/domain/insight/layer-map.js'
import type { Builder, Layer } from '../../src/domain/schemas/build.js'
import type { Finding } from '../../src/domain/schemas/insight.js'
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
export const SCAN_LIMIT_BYTES = 2 * 1024 ** 3

/**
 * Where the image's bytes are and what would remove them: its layers tied to Dockerfile lines and
 * stages, base bytes apart from added ones, and the advisor's findings, each weighed by the bytes
 * of the layers it points at, largest first. Read from the image's history alone, so it is quick.
 */
export async function imageInsight (input: {
  docker: Docker
  imageId: string
  builder: Builder
  dockerfile: ParsedDockerfile
  target: string | null
  labelCount: number
  context: { hasDockerignore: boolean; rootNames: string[] }
}): Promise<ImageInsight> {
  const inspected = await inspectImage(input.docker, input.imageId)
  const { dockerfile } = input
  const mapped = mapLayers({
    dockerfile,
    target: input.target,
    layers: inspected.layers,
    builder: input.builder,
    extraLabelCount: input.labelCount
  })
  const layers: Layer[] = mapped.layers
  const bytesAt = (lines: number[]) => layers.filter((layer) => layer.line !== null && lines.includes(layer.line)).reduce((sum, layer) => sum + layer.sizeBytes, 0)
  const findings: Finding[] = byBytes(adviseDockerfile({ dockerfile, target: input.target, context: input.context }).map(
    // A FROM line makes no layer of its own: the base image's layers are what it accounts for.
    (finding) => ({ ...finding, bytes: finding.rule === 'full-base-image' ? mapped.baseBytes : bytesAt(finding.lines) })
  ))

  return { sizeBytes: inspected.sizeBytes, layers, baseBytes: mapped.baseBytes, addedBytes: mapped.addedBytes, findings }
}

type LayerScan = Awaited<ReturnType<typeof filesDeletedLater>>

/** What reading an image's layers found, kept by image id. Lines are not in it: they are the Dockerfile's. */
export interface ScanCache {
  get(imageId: string): Promise<LayerScan | null>
  set(imageId: string, scan: LayerScan): Promise<void>
}

/**
 * The files-deleted-later finding, measured by reading every layer of the image (`docker save`):
 * slow for a large image, so its answer is kept per image id (a build served from the layer
 * cache makes the same image and asks again).
 */
export async function deletedFilesFinding (input: { docker: Docker; imageId: string; sizeBytes: number; layers: Layer[]; cache: ScanCache }): Promise<Finding | null> {
  if (input.sizeBytes > SCAN_LIMIT_BYTES || !input.layers.some(mayDelete)) return null
  let scan = await input.cache.get(input.imageId)
  if (!scan) {
    scan = await filesDeletedLater(await input.docker.getImage(input.imageId).get(), { minBytes: 1024 })
    await input.cache.set(input.imageId, scan)
  }
  const { findings: deleted, wastedBytes } = scan
  if (deleted.length === 0) return null
  const lineOf = (historyIndex: number) => input.layers[historyIndex]?.line ?? null
  const lines = [...new Set(deleted.flatMap((file) => [lineOf(file.addedInHistoryIndex), lineOf(file.deletedInHistoryIndex)]).filter((line): line is number => line !== null))]
  const largest = deleted.slice(0, 3).map((file) => `${file.path} (${file.bytes} bytes)`)
  return {
    rule: 'files-deleted-later',
    lines,
    stage: null,
    message:
      `${deleted.length} file(s) are added in one layer and deleted in a later one, so the image still carries them: ${largest.join(', ')}. ` +
      'Delete them in the same RUN that creates them, or build them in another stage.',
    bytes: wastedBytes
  }
}

/**
 * Whether a layer this Dockerfile made may delete files: a RUN may, and an ADD may (it unpacks
 * archives); a COPY only adds. An image whose own layers are all COPYs onto its base (the usual
 * last stage of a multi-stage build) is not read at all: exporting it costs the engine as much as
 * the push does.
 */
function mayDelete (layer: Layer): boolean {
  return !layer.fromBase && layer.sizeBytes > 0 && historyKeyword(layer.instruction) !== 'COPY'
}

/** Findings, largest first. */
export function byBytes (findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0))
}
