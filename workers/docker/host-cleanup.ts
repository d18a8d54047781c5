import type Docker from 'dockerode'

// What a build leaves on its engine, and what Slipway takes away (docs/operations/disk.md):
//
// - A pushed image's tags: the registry has the image, so the engine's tags go. Removing the last
//   tag removes the image record, with `noprune` so its parents stay: the classic builder's
//   intermediate images (its cache) and, for BuildKit, the layers its build cache holds.
// - A failed or canceled build's tags (an image made before inspect or push failed), and the
//   classic builder's intermediate images that this build made (never those it took from the
//   cache, never a FROM image).
// - The build cache, pruned to a byte budget, least recently used first. BuildKit never prunes a
//   record a running build holds.
//
// Nothing is forced: the engine refuses to remove an image a container uses or another image
// builds on, and such a refusal is left at that.

/** Removes each tag if it still names `imageId` (another build may have moved it since). Returns the tags removed. */
export async function removeTags (docker: Docker, tags: string[], imageId: string): Promise<string[]> {
  const removed: string[] = []
  for (const tag of tags) {
    try {
      const { Id: id } = await docker.getImage(tag).inspect()
      if (id !== imageId) continue
      await docker.getImage(tag).remove({ noprune: true })
      removed.push(tag)
    } catch {
      // Gone already, or in use: either way not ours to insist on.
    }
  }
  return removed
}

/**
 * Removes the classic builder's intermediate images a build made, newest first, each only if no
 * container uses it and no other image builds on it (the engine checks; nothing is forced).
 */
export async function removeIntermediates (docker: Docker, imageIds: string[]): Promise<number> {
  let removed = 0
  for (const id of [...imageIds].reverse()) {
    try {
      await docker.getImage(id).remove({ noprune: true })
      removed += 1
    } catch {
      // In use, a parent of another image, or gone: it stays.
    }
  }
  return removed
}

/**
 * Prunes the engine's build cache down to `keepBytes`, least recently used first (POST
 * /build/prune), never a record used in the last `unusedForSeconds`: BuildKit keeps what a running
 * build holds, and this keeps what a running build used between two of its steps too. `keep-storage` is the figure Engine API 1.39–1.47 know; 1.48 onwards call it
 * `max-used-space` (and read `keep-storage` as a reserve), so both are sent. Returns the bytes freed.
 */
export async function pruneBuildCache (docker: Docker, keepBytes: number, unusedForSeconds: number, signal?: AbortSignal): Promise<number> {
  // dockerode's pruneBuilder sends no query: the request is made here.
  const answer = await new Promise<unknown>((resolve, reject) => {
    docker.modem.dial(
      {
        path: '/build/prune?',
        method: 'POST',
        options: { 'keep-storage': keepBytes, 'max-used-space': keepBytes, filters: JSON.stringify({ until: [`${unusedForSeconds}s`] }) },
        abortSignal: signal,
        statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' }
      },
      (error: Error | null, data: unknown) => (error ? reject(error) : resolve(data))
    )
  })
  return (answer as { SpaceReclaimed?: number } | null)?.SpaceReclaimed ?? 0
}

/** Removes dangling images (untagged, nothing built on them) older than `olderThanSeconds`, which no container uses. Returns the bytes freed. */
export async function pruneDanglingImages (docker: Docker, olderThanSeconds: number): Promise<number> {
  const answer = await docker.pruneImages({ filters: JSON.stringify({ dangling: ['true'], until: [`${olderThanSeconds}s`] }) })
  return (answer as { SpaceReclaimed?: number }).SpaceReclaimed ?? 0
}
