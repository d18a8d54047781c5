import { Readable } from 'node:stream'
import type Docker from 'dockerode'
import { buildImage, type ImageBuildInput } from '../../workers/phases/image-build.js'
import { tarGz } from './tarball.js'

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
  options: { buildSecrets?: ImageBuildInput['buildSecrets']; network?: string; signal?: AbortSignal; onLog?: (text: string) => void } = {}
): Promise<DirectBuild> {
  const lines: string[] = []
  const context = await tarGz(Object.entries(files).map(([name, content]) => ({ name, content })))
  try {
    const { imageId } = await buildImage({
      docker,
      builder: 'buildkit',
      context: Readable.from([context]),
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
