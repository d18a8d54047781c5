import type Docker from 'dockerode'
import type { BuildStore } from '../src/storage/build-store.js'
import { repoKey } from '../src/domain/builds/repo-url.js'
import { fingerprint } from '../src/domain/fingerprint.js'
import type { BuildRecord, NormalizedRequest } from '../src/domain/schemas/build.js'
import type { RegistryAuth } from './docker/registry-auth.js'

/**
 * What makes two builds the same: the repository and commit (or the uploaded bytes), and every
 * option that shapes the image (not how the build is run: priority, time limit, webhooks).
 */
export function buildFingerprint (request: NormalizedRequest, revision: string, tags: string[]): string {
  const { context, dockerfile, target, buildArgs, labels, image, push, builder, network, keepGitDir, maxImageBytes, budgetMode } = request
  const repo = request.repo === null ? null : repoKey(request.repo)
  // The budget counts too: reusing a build is reusing its verdict on the image's size; so does the
  // network: a build asked to run without one is not given an image made with one. `commit` is an
  // upload's sha256 for an upload (the field keeps its name, so repository builds keep theirs).
  // registryCache counts (when true, left out, so earlier fingerprints still match): a build with
  // it pushes an image whose config carries cache metadata, one without it an image without. The
  // images cacheFrom names do not: they change where unchanged layers come from, never what the
  // layers hold (a cache hit is the same step on the same inputs), so the image is the same.
  const registryCache = request.registryCache === false ? false : undefined
  // The secrets a build mounts count by id (left out when none, as before they existed): a step
  // can make something else with a secret than without. Their values are not in any fingerprint.
  const mounts = request.secrets?.length || request.ssh?.length ? { secrets: [...(request.secrets ?? [])].sort(), ssh: [...(request.ssh ?? [])].sort() } : undefined
  return fingerprint({ repo, commit: revision, context, dockerfile, target, buildArgs, labels, image, tags, push, builder, network, keepGitDir, maxImageBytes, budgetMode, registryCache, mounts })
}

/**
 * An earlier succeeded build identical to this one whose image is still where it left it: in the
 * registry under every tag at the same digest (asked through the Engine API), or, for a local
 * build, tagged on this engine. Anything in doubt means no.
 */
export async function findReusable (
  deps: { store: BuildStore; docker: Docker },
  buildFingerprintValue: string,
  auth: RegistryAuth | undefined
): Promise<BuildRecord | null> {
  const earlier = await deps.store.reusable(buildFingerprintValue)
  const image = earlier?.status === 'succeeded' ? earlier.image : null
  if (!earlier || !image) return null
  try {
    for (const tag of image.tags) {
      const held = image.pushed
        ? (await deps.docker.getImage(tag).distribution(auth ? { authconfig: auth } : {})).Descriptor.digest === image.digest
        : (await deps.docker.getImage(tag).inspect()).Id === image.id
      if (!held) return null
    }
    return earlier
  } catch {
    return null
  }
}
