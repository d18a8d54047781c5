import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import type Docker from 'dockerode'
import type { BaseImage, BuildCache, BuildRecord, Step } from '../../src/domain/schemas/build.js'
import { explainCache, type CacheSide, type ExplainInput } from '../../src/domain/insight/cache-explanation.js'
import type { DockerfileFacts } from '../../src/domain/insight/step-facts.js'
import type { ContextPlan } from '../../src/build-context/context.js'
import type { SourceTree } from '../../src/build-context/source-tree.js'
import type { CacheFacts } from '../../src/storage/cache-facts.js'

export interface CacheExplanationInput {
  build: BuildRecord
  /** The branch (full ref) the build resolved to; null for a commit id or an upload. */
  resolvedRef: string | null
  dockerfile: string
  target: string | null
  facts: DockerfileFacts
  plan: Pick<ContextPlan, 'entries'>
  tree: SourceTree
  engine: { id: string; name: string } | null
  docker: Docker
  kept: CacheFacts
  signal: AbortSignal
}

/** How the build phase ended, as the explanation needs it. */
export interface BuildOutcome {
  /** The build phase succeeded, so its steps are in the engine's cache: this build's side is kept for the next one. */
  keep: boolean
  registryImports: ExplainInput['registryImports']
  /** The engine's image for each stage's FROM after the build (a pull may have changed it), by stage label (base-images.ts). */
  bases: Map<string, BaseImage>
}

export interface CacheExplanation {
  /** The steps explained against the newest earlier build of the lineage, and this build's side kept when `keep`. */
  finish(steps: Step[], outcome: BuildOutcome): Promise<{ steps: Step[]; cache: BuildCache }>
}

/**
 * Starts explaining as the build starts: the previous build's facts and this context's file ids
 * are read while the engine builds, so what the build waits for afterwards is the comparison, the
 * base image ids (a pull may change them) and the write for the next build.
 */
export function startCacheExplanation (input: CacheExplanationInput): CacheExplanation {
  const lineage = lineageOf(input)
  const previous = input.kept.get<CacheSide>(lineage)
  // A disk tree's files are read to hash them: not while the build reads them to send.
  const files = input.plan.entries.every((entry) => entry.type !== 'file' || entry.content || entry.source?.contentId)
    ? contextFileIds(input.plan, input.tree, input.signal)
    : null
  // A build that ends before finishing leaves these unread: not an unhandled rejection.
  for (const started of [previous, files]) started?.catch(() => undefined)
  return {
    async finish (steps, { keep, registryImports, bases: found }) {
      const [kept, ids] = await Promise.all([previous, files ?? contextFileIds(input.plan, input.tree, input.signal)])
      const current: CacheSide = {
        buildId: input.build.id,
        engine: input.engine,
        dockerfile: input.facts,
        bases: baseImages(input.facts, found, (base) => base.imageId),
        baseDigests: baseImages(input.facts, found, (base) => base.digest),
        files: ids
      }
      const explained = explainCache({
        steps,
        current,
        previous: kept && kept.buildId !== input.build.id ? kept : null,
        noCache: input.build.request.noCache,
        registryImports
      })
      if (keep) await input.kept.set(lineage, current)
      return explained
    }
  }
}

/**
 * Builds compared with each other: the same repository and branch (or, for uploads, the same
 * image), Dockerfile and target. A build of a commit id compares with the commit's branch only
 * when it names one, so it has a lineage of its own: the commit.
 */
function lineageOf (input: Pick<CacheExplanationInput, 'build' | 'resolvedRef' | 'dockerfile' | 'target'>): string {
  const { request } = input.build
  const source = request.repo === null ? ['upload', request.image] : ['repo', request.repo, input.resolvedRef ?? request.ref ?? 'HEAD']
  return createHash('sha256')
    .update(JSON.stringify([...source, input.dockerfile, input.target]))
    .digest('hex')
    .slice(0, 32)
}

// Enough of a content id to tell two versions of a file apart (64 bits), and no more: kept for
// every file of a context.
const ID_HEX = 16

/**
 * Each context file as `path\0id`, sorted (CacheSide.files): its content id and mode, what decides
 * a COPY's cache; git's blob id where the tree has one, else a hash of the bytes.
 */
async function contextFileIds (plan: Pick<ContextPlan, 'entries'>, tree: SourceTree, signal: AbortSignal): Promise<string[]> {
  const ids: string[] = []
  for (const entry of plan.entries) {
    if (entry.type === 'directory') continue
    let id: string | undefined
    if (entry.type === 'symlink') id = createHash('sha1').update(entry.linkname ?? '').digest('hex')
    else if (entry.content) id = createHash('sha1').update(entry.content).digest('hex')
    else if (entry.source) id = entry.source.contentId ?? (await hashFile(tree, entry.source, signal))
    if (id !== undefined) ids.push(`${entry.name}\0${id.slice(0, ID_HEX)}:${entry.mode.toString(8)}`)
  }
  return ids.sort()
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

/** What the engine says of each stage's FROM image: its id, or its registry digest (null where it cannot say). */
function baseImages (facts: DockerfileFacts, found: Map<string, BaseImage>, pick: (base: BaseImage) => string | null): Record<string, string | null> {
  return Object.fromEntries(
    facts.stages
      .filter((stage) => stage.image !== null && stage.image !== 'scratch')
      .map((stage) => [stage.label, found.has(stage.label) ? pick(found.get(stage.label)!) : null])
  )
}
