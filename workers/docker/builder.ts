import type Docker from 'dockerode'
import type { Builder } from '../../src/schemas/build.js'
import { BuildFailure } from '../build-failure.js'

// BuildKit is reachable through the Engine API from API version 1.39 (Docker 18.09).
const BUILDKIT_API = [1, 39]
const engineSupport = new WeakMap<Docker, Promise<boolean>>()

/**
 * The builder to use: the request's, else the worker's setting; "auto" is BuildKit where the engine
 * has it. Through the Engine API BuildKit reads the Dockerfile from the context and shows every
 * file of it to COPY, so a Dockerfile from outside the context needs the classic builder: "auto"
 * picks it, an explicit "buildkit" is refused.
 */
export async function chooseBuilder(
  docker: Docker,
  requested: Builder | null,
  configured: Builder | 'auto',
  plan: { dockerfileCopied: boolean }
): Promise<{ builder: Builder; why?: string }> {
  const wanted = requested ?? configured
  if (plan.dockerfileCopied) {
    if (wanted === 'buildkit') {
      throw new BuildFailure(
        'DOCKERFILE_OUTSIDE_CONTEXT',
        'BuildKit was asked for, but the Dockerfile is outside the context (or reached through a symlink), and BuildKit ' +
          'through the Engine API can only read a Dockerfile from inside it. Widen `context` to include the Dockerfile, or ask for `builder: "classic"`.'
      )
    }
    return { builder: 'classic', why: 'the Dockerfile is outside the context, which only the classic builder can take' }
  }
  if (wanted !== 'auto') return { builder: wanted }
  let supported = engineSupport.get(docker)
  if (!supported) {
    supported = docker.version().then(
      (version) => compareVersions(version.ApiVersion, BUILDKIT_API) >= 0,
      () => {
        // Ask again next time: the engine may only be down for now.
        engineSupport.delete(docker)
        return false
      }
    )
    engineSupport.set(docker, supported)
  }
  return (await supported) ? { builder: 'buildkit' } : { builder: 'classic', why: 'the Docker Engine has no BuildKit' }
}

function compareVersions(version: string, minimum: number[]): number {
  const parts = version.split('.').map(Number)
  for (const [i, wanted] of minimum.entries()) {
    const part = parts[i] ?? 0
    if (part !== wanted) return part - wanted
  }
  return 0
}
