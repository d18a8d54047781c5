import type { Builder, NormalizedRequest, RegistryCache } from '../src/domain/schemas/build.js'
import type { CacheImportResult } from './docker/progress.js'
import type { PipelineSettings } from './pipeline-context.js'

// Registry cache: with BuildKit, a pushed image carries inline cache metadata in its config, and a
// build imports cache from the previous pushed build's image and the request's cacheFrom, so an
// engine that never built the repository still reuses unchanged layers. docs/operations/registry-cache.md

/** An image to import cache from, and why it was chosen. */
export interface CacheSource {
  reference: string
  source: RegistryCache['imports'][number]['source']
  /** previous-build: that build's id. */
  build?: string
}

/** What one build does with registry cache: whether it exports, where it imports from; null when it does nothing. */
export interface RegistryCachePlan {
  inline: boolean
  sources: CacheSource[]
}

/**
 * The plan for a build on `builder`, with the reasons for doing less logged once. The classic
 * builder can use inline cache only by pulling whole images first, so it neither exports nor imports.
 */
export function planRegistryCache (
  input: { builder: Builder; request: Pick<NormalizedRequest, 'push' | 'noCache' | 'registryCache' | 'cacheFrom'>; setting: PipelineSettings['registryCache']; previous: CacheSource | null },
  log: (text: string) => void
): RegistryCachePlan | null {
  const { request, previous } = input
  const cacheFrom: CacheSource[] = (request.cacheFrom ?? []).map((reference) => ({ reference, source: 'request' }))
  const wanted = request.push || cacheFrom.length > 0
  if (request.registryCache === false || input.setting === 'off') {
    if (wanted) log(`Registry cache is off ${request.registryCache === false ? 'for this build (registryCache: false)' : 'on this server (SLIPWAY_REGISTRY_CACHE=off)'}: no cache exported or imported`)
    return { inline: false, sources: [] }
  }
  if (input.builder === 'classic') {
    if (wanted) log('The classic builder neither exports nor imports registry cache (BuildKit does): this build uses only the engine\'s own cache')
    return null
  }
  // noCache asks for every step to run: no cache is worth a registry round trip then.
  if (request.noCache && wanted) log('noCache: no registry cache imported')
  const candidates = request.noCache ? [] : [...(previous ? [previous] : []), ...cacheFrom]
  const sources = candidates.filter((candidate, i) => candidates.findIndex((other) => other.reference === candidate.reference) === i)
  for (const source of sources) {
    log(`Importing cache from ${source.reference} (${source.source === 'previous-build' ? `previous build ${source.build}` : 'cacheFrom'})`)
  }
  if (request.push) log('The pushed image carries inline cache metadata for later builds (registry cache)')
  return { inline: request.push, sources }
}

/** What the build record keeps: each source with what BuildKit said of it. */
export function registryCacheRecord (plan: RegistryCachePlan, results: CacheImportResult[]): RegistryCache {
  return {
    exported: plan.inline,
    imports: plan.sources.map(({ reference, source }) => {
      // BuildKit names the image as it was given, or with Docker Hub's host spelled out.
      const result = results.find((candidate) => candidate.reference === reference || candidate.reference.endsWith(`/${reference}`))
      if (!result) return { reference, source, outcome: 'failed', error: 'BuildKit did not report importing it' }
      const took = result.durationMs === null ? {} : { durationMs: result.durationMs }
      return result.error === undefined ? { reference, source, outcome: 'imported', ...took } : { reference, source, outcome: 'failed', error: result.error, ...took }
    })
  }
}
