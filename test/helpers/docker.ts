import Docker from 'dockerode'
import type { Teardown } from './teardown.js'

export const docker = new Docker()

/** Pulls an image through the Engine API, as `docker pull` would, and waits for it to finish. */
export async function pull (reference: string): Promise<void> {
  const stream = await docker.pull(reference)
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve())))
}

/** Removes every local tag of an image so a following pull must fetch it from the registry. */
export async function removeImage (reference: string): Promise<void> {
  await docker.getImage(reference).remove({ force: true }).catch(() => undefined)
}

/** The digest the registry serves for repository:tag (a HEAD request for the manifest). */
export async function registryDigest (host: string, repository: string, tag: string): Promise<string | null> {
  const response = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' }
  })
  return response.headers.get('docker-content-digest')
}

/**
 * Puts `repository:tag` back on the image it names now when the test ends, for tests that try to
 * move a tag the engine's other builds rely on. Register it before the Slipway whose builds may
 * move it: teardowns run last registered first, so this runs after their images are removed.
 */
export async function restoreTagAfter (t: Teardown, repository: string, tag: string): Promise<string> {
  const { Id: id } = await docker.getImage(`${repository}:${tag}`).inspect()
  t.teardown(async () => {
    const now = await docker.getImage(`${repository}:${tag}`).inspect().catch(() => null)
    if (now?.Id !== id) await docker.getImage(id).tag({ repo: repository, tag })
  })
  return id
}
