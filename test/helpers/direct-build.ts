import { createHash, randomUUID } from 'node:crypto'
import { finished } from 'node:stream/promises'
import type Docker from 'dockerode'
import { buildImage, type ImageBuildInput } from '../../workers/phases/image-build.js'

export interface DirectBuild {
  imageId?: string
  error?: Error
  log: string
}

/**
 * A BuildKit build of `files` (a Dockerfile among them) through the worker's buildImage, without
 * the rest of the pipeline: for tests of what the build's session serves. Every step runs (no
 * cache); the outcome, failed or not, comes back with the log.
 */
export async function buildDirect (
  docker: Docker,
  files: Record<string, string>,
  options: {
    buildSecrets?: ImageBuildInput['buildSecrets']
    network?: string
    signal?: AbortSignal
    onLog?: (text: string) => void
    /** What the engine keeps the context under (default: a key of this build's own), and who hears of each file it asks for. */
    contextKey?: string
    onRead?: (path: string) => void
  } = {}
): Promise<DirectBuild> {
  const lines: string[] = []
  try {
    const { imageId } = await buildImage({
      docker,
      builder: 'buildkit',
      context: {
        tar: () => { throw new Error('a direct build is a BuildKit one, which reads its context through its session') },
        folder: {
          entries: Object.entries(files).map(([name, content]) => ({
            path: name,
            type: 'file' as const,
            mode: 0o644,
            size: Buffer.byteLength(content),
            version: createHash('sha256').update(content).digest('hex')
          })),
          mtime: new Date(0),
          copy: async (entry, into) => {
            options.onRead?.(entry.path)
            into.end(Buffer.from(files[entry.path]!))
            await finished(into)
          }
        },
        // No two direct builds share what the engine kept of a context: their files have no versions.
        key: options.contextKey ?? randomUUID()
      },
      dockerfile: 'Dockerfile',
      tags: [],
      buildArgs: {},
      labels: {},
      target: null,
      noCache: true,
      limits: { memoryBytes: 512 * 1024 * 1024, cpus: 1 },
      network: options.network ?? 'none',
      registryAuth: {},
      pullBaseImages: false,
      ...(options.buildSecrets ? { buildSecrets: options.buildSecrets } : {}),
      signal: options.signal ?? new AbortController().signal,
      log: (_stream, text) => {
        lines.push(text)
        options.onLog?.(text)
      },
      locateStep: () => null,
      onSteps: () => undefined,
      drain: async () => undefined
    })
    return { imageId, log: lines.join('\n') }
  } catch (error) {
    return { error: error as Error, log: lines.join('\n') }
  }
}
