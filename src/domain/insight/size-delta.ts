import type { Image } from '../schemas/build.js'
import type { SizeDelta } from '../schemas/insight.js'

const BASE = '(base image)'

/**
 * How an image's size changed against an earlier build's: in all, and layer by layer, where a
 * layer is known by its Dockerfile line and instruction and the base image counts as one.
 */
export function sizeDelta (current: Pick<Image, 'sizeBytes' | 'layers'>, previous: { id: string; image: Pick<Image, 'sizeBytes' | 'layers'> }): SizeDelta {
  const before = bytesByLayer(previous.image.layers)
  const after = bytesByLayer(current.layers)
  const layers = [...new Set([...before.keys(), ...after.keys()])]
    .map((key) => {
      const beforeBytes = before.get(key)?.bytes ?? 0
      const afterBytes = after.get(key)?.bytes ?? 0
      const { instruction, line } = after.get(key) ?? before.get(key)!
      return { instruction, line, beforeBytes, afterBytes, deltaBytes: afterBytes - beforeBytes }
    })
    .filter((layer) => layer.deltaBytes !== 0)
    .sort((a, b) => Math.abs(b.deltaBytes) - Math.abs(a.deltaBytes))
  return { comparedWith: previous.id, bytes: current.sizeBytes - previous.image.sizeBytes, layers }
}

function bytesByLayer (layers: Image['layers']): Map<string, { instruction: string; line: number | null; bytes: number }> {
  const byKey = new Map<string, { instruction: string; line: number | null; bytes: number }>()
  for (const layer of layers) {
    const key = layer.fromBase ? BASE : `${layer.line ?? ''}:${layer.instruction}`
    const entry = byKey.get(key) ?? { instruction: layer.fromBase ? BASE : layer.instruction, line: layer.fromBase ? null : layer.line, bytes: 0 }
    entry.bytes += layer.sizeBytes
    byKey.set(key, entry)
  }
  return byKey
}
