import type Docker from 'dockerode'
/** One history entry: what made it, and its bytes. */
export interface HistoryLayer {
  instruction: string
  sizeBytes: number
  createdAt: string | null
}

/** The image's size as `docker images` reports it, and its history as layers, oldest first. */
export async function inspectImage (docker: Docker, imageId: string): Promise<{ sizeBytes: number; layers: HistoryLayer[] }> {
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
export function instructionOf (entry: Pick<HistoryEntry, 'CreatedBy' | 'Comment'>): string {
  const createdBy = entry.CreatedBy.trim()
  if (!createdBy) return entry.Comment.trim() || '(base image layer)'
  const buildkit = createdBy.replace(/\s+# buildkit$/, '')
  if (buildkit !== createdBy) return buildkit.startsWith('RUN ') ? `RUN ${shellCommand(buildkit.slice(4))}` : buildkit
  // Metadata steps are recorded as a no-op in the current SHELL, which a SHELL instruction may change.
  const nop = /^[^#]*? -c #\(nop\)\s+(.*)$/s.exec(createdBy)
  if (nop) return nop[1]!.trim()
  const command = shellCommand(createdBy)
  return command === createdBy ? createdBy : `RUN ${command}`
}

// Both builders record RUN as the shell command, prefixed by "|N A=1 B=2" when build args are set.
function shellCommand (recorded: string): string {
  return /^(?:\|\d+ .*? )?\/bin\/sh -c (.*)$/s.exec(recorded)?.[1]?.trim() ?? recorded
}
