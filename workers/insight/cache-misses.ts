import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import type Docker from 'dockerode'
import type { BuildCache, BuildRecord, Step } from '../../src/domain/schemas/build.js'
import { explainCache, type CacheSide } from '../../src/domain/insight/cache-explanation.js'
import type { DockerfileFacts } from '../../src/domain/insight/step-facts.js'
import type { ContextPlan } from '../../src/build-context/context.js'
import type { SourceTree } from '../../src/build-context/source-tree.js'
import type { CacheFacts } from '../../src/storage/cache-facts.js'

/** A build's side of the comparison as Redis keeps it for the next build of its lineage. */
interface KeptSide extends Omit<CacheSide, 'files'> {
  files: Record<string, string>
}

export interface CacheMissInput {
  build: BuildRecord
  /** The branch (full ref) the build resolved to; null for a commit id or an upload. */
  resolvedRef: string | null
  dockerfile: string
  target: string | null
  facts: DockerfileFacts
  plan: Pick<ContextPlan, 'entries'>
  tree: SourceTree
  steps: Step[]
  engine: { id: string; name: string } | null
  docker: Docker
  kept: CacheFacts
  signal: AbortSignal
}

/**
 * Explains this build's cache misses against the newest earlier build of its lineage, and (when
 * `keep`) keeps this build's side for the next one: the build phase succeeded, so its steps are
 * in the engine's cache.
 */
export async function explainCacheMisses (input: CacheMissInput, keep: boolean): Promise<{ steps: Step[]; cache: BuildCache }> {
  const lineage = lineageOf(input)
  const [previous, files, bases] = await Promise.all([
    input.kept.get<KeptSide>(lineage),
    contextFileIds(input.plan, input.tree, input.signal),
    baseImageIds(input.docker, input.facts)
  ])
  const current: CacheSide = { buildId: input.build.id, engine: input.engine, dockerfile: input.facts, bases, files }
  const explained = explainCache({
    steps: input.steps,
    current,
    previous: previous && previous.buildId !== input.build.id ? { ...previous, files: new Map(Object.entries(previous.files)) } : null,
    noCache: input.build.request.noCache
  })
  if (keep) await input.kept.set(lineage, { ...current, files: Object.fromEntries(files) } satisfies KeptSide)
  return explained
}

/**
 * Builds compared with each other: the same repository and branch (or, for uploads, the same
 * image), Dockerfile and target. A build of a commit id compares with the commit's branch only
 * when it names one, so it has a lineage of its own: the commit.
 */
function lineageOf (input: Pick<CacheMissInput, 'build' | 'resolvedRef' | 'dockerfile' | 'target'>): string {
  const { request } = input.build
  const source = request.repo === null ? ['upload', request.image] : ['repo', request.repo, input.resolvedRef ?? request.ref ?? 'HEAD']
  return createHash('sha256')
    .update(JSON.stringify([...source, input.dockerfile, input.target]))
    .digest('hex')
    .slice(0, 32)
}

/**
 * Each context file's content id and mode (what decides a COPY's cache): git's blob id where the
 * tree has one, else a hash of the bytes.
 */
async function contextFileIds (plan: Pick<ContextPlan, 'entries'>, tree: SourceTree, signal: AbortSignal): Promise<Map<string, string>> {
  const ids = new Map<string, string>()
  for (const entry of plan.entries) {
    if (entry.type === 'directory') continue
    let id: string | undefined
    if (entry.type === 'symlink') id = `link:${entry.linkname ?? ''}`
    else if (entry.content) id = createHash('sha1').update(entry.content).digest('hex')
    else if (entry.source) id = entry.source.contentId ?? (await hashFile(tree, entry.source, signal))
    if (id !== undefined) ids.set(entry.name, `${id}:${entry.mode.toString(8)}`)
  }
  return ids
}

async function hashFile (tree: SourceTree, entry: NonNullable<ContextPlan['entries'][number]['source']>, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha1')
  const into = new Writable({
    write (chunk: Buffer, _encoding, done) {
      hash.update(chunk)
      done()
    }
  })
  await tree.copy(entry, into, signal)
  return hash.digest('hex')
}

/** The image id the engine has for each stage's FROM image (null where it cannot say). */
async function baseImageIds (docker: Docker, facts: DockerfileFacts): Promise<Record<string, string | null>> {
  const ids: Record<string, string | null> = {}
  await Promise.all(
    facts.stages.map(async (stage) => {
      if (stage.image === null || stage.image === 'scratch') return
      ids[stage.label] = await docker
        .getImage(stage.image)
        .inspect()
        .then((image) => image.Id, () => null)
    })
  )
  return ids
}
