import type Docker from 'dockerode'
import type { BaseImage } from '../../src/domain/schemas/build.js'
import { splitImageName } from '../../src/domain/builds/image-ref.js'
import { stageChain, stageLabel, type ParsedDockerfile } from '../../src/domain/insight/dockerfile-stages.js'
import type { DockerfileFacts } from '../../src/domain/insight/step-facts.js'

/**
 * The image each stage's FROM names, as the engine has it now, by stage label: its id, and the
 * registry digest it was pulled by (null for one built or loaded on the engine). A stage built on
 * another stage or on scratch has none, nor one whose image the engine lacks (a stage the build
 * never reached).
 */
export async function baseImagesOf (docker: Docker, facts: Pick<DockerfileFacts, 'stages'>): Promise<Map<string, BaseImage>> {
  const found = new Map<string, BaseImage>()
  await Promise.all(
    facts.stages.map(async (stage) => {
      if (stage.image === null || stage.image === 'scratch') return
      const image = await docker.getImage(stage.image).inspect().catch(() => null)
      if (image) found.set(stage.label, { name: stage.image, digest: registryDigest(stage.image, image.RepoDigests ?? []), imageId: image.Id })
    })
  )
  return found
}

/** The digest among the engine's RepoDigests ("debian@sha256:…") of the repository `name` is in. */
function registryDigest (name: string, repoDigests: string[]): string | null {
  const named = /@(sha256:[0-9a-f]{64})$/.exec(name)
  if (named) return named[1]!
  const repository = canonical(name.replace(/:[^/:]*$/, ''))
  const match = repoDigests.find((entry) => canonical(entry.slice(0, entry.lastIndexOf('@'))) === repository)
  return match ? match.slice(match.lastIndexOf('@') + 1) : null
}

// debian, library/debian and docker.io/library/debian are one repository.
function canonical (repository: string): string {
  const { registry, path } = splitImageName(repository)
  return `${registry}/${registry === 'docker.io' && !path.includes('/') ? `library/${path}` : path}`
}

/**
 * Each base image once, however many stages are built on it, the image's own first: the one the
 * built stage's FROM chain starts from, whose layers are the image's base layers (the portal, the
 * CLI, the log and chat messages name them by it). The others follow in Dockerfile order.
 */
export function orderedBases (byStage: Map<string, BaseImage>, dockerfile: ParsedDockerfile, target: string | null): BaseImage[] {
  const root = stageChain(dockerfile, target)?.[0]
  const labels = [...(root ? [stageLabel(root)] : []), ...dockerfile.stages.map(stageLabel)]
  const unique = new Map<string, BaseImage>()
  for (const label of labels) {
    const base = byStage.get(label)
    if (base && !unique.has(`${base.name} ${base.imageId}`)) unique.set(`${base.name} ${base.imageId}`, base)
  }
  return [...unique.values()]
}
