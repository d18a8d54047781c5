import type Docker from 'dockerode'
import type { Layer } from '../../src/schemas/build.js'

/** The image's size as `docker images` reports it, and its history as layers, oldest first. */
export async function inspectImage(docker: Docker, imageId: string): Promise<{ sizeBytes: number; layers: Layer[] }> {
  const image = docker.getImage(imageId)
  const [info, history] = await Promise.all([image.inspect(), image.history() as Promise<HistoryEntry[]>])
  const layers = history.reverse().map((entry) => ({
    instruction: instructionOf(entry),
    sizeBytes: entry.Size,
    createdAt: entry.Created > 0 ? new Date(entry.Created * 1000).toISOString() : null
  }))
  return { sizeBytes: info.Size, layers }
}

interface HistoryEntry {
  Created: number
  CreatedBy: string
  Size: number
  Comment: string
}

/** The Dockerfile instruction behind a history entry, in the words the Dockerfile used. */
export function instructionOf(entry: Pick<HistoryEntry, 'CreatedBy' | 'Comment'>): string {
  const createdBy = entry.CreatedBy.trim()
  if (!createdBy) return entry.Comment.trim() || '(base image layer)'
  const buildkit = createdBy.replace(/\s+# buildkit$/, '')
  if (buildkit !== createdBy) return buildkit.replace(/^RUN \/bin\/sh -c /, 'RUN ')
  const nop = /^\/bin\/sh -c #\(nop\)\s+(.*)$/s.exec(createdBy)
  if (nop) return nop[1]!.trim()
  // The classic builder records RUN as the shell command, prefixed by "|N A=1 B=2" with build args.
  const run = /^(?:\|\d+ .*? )?\/bin\/sh -c (.*)$/s.exec(createdBy)
  return run ? `RUN ${run[1]!.trim()}` : createdBy
}
