import type Docker from 'dockerode'
import { isNamedNetwork } from '../../src/domain/builds/build-network.js'
import type { FailureCode } from '../../src/domain/builds/failure-codes.js'
import type { Builder } from '../../src/domain/schemas/build.js'
import { BuildFailure } from '../../src/domain/builds/build-failure.js'

// BuildKit is reachable through the Engine API from API version 1.39 (Docker 18.09).
const BUILDKIT_API = [1, 39]
const engineSupport = new WeakMap<Docker, Promise<boolean>>()

/**
 * The builder to use: the request's, else the worker's setting; "auto" is BuildKit where the engine
 * has it. Some builds only the classic builder can run (`classicOnly`): "auto" picks it for them,
 * an explicit "buildkit" is refused.
 */
export async function chooseBuilder (
  docker: Docker,
  requested: Builder | null,
  configured: Builder | 'auto',
  needs: BuildNeeds
): Promise<{ builder: Builder; why?: string }> {
  const wanted = requested ?? configured
  const classic = classicOnly(needs)
  if (classic) {
    if (wanted === 'buildkit') throw new BuildFailure(classic.code, classic.refusal)
    return { builder: 'classic', why: classic.why }
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

export interface BuildNeeds {
  /** The Dockerfile comes from outside the context (or through a symlink) and is copied into it. */
  dockerfileCopied: boolean
  /** The network RUN steps run on. */
  network: string
}

/** Why only the classic builder can run this build, or null when BuildKit can too. */
function classicOnly (needs: BuildNeeds): { code: FailureCode; refusal: string; why: string } | null {
  // Through the Engine API BuildKit reads the Dockerfile from the context, and shows every file of it to COPY.
  if (needs.dockerfileCopied) {
    return {
      code: 'DOCKERFILE_OUTSIDE_CONTEXT',
      refusal:
        'BuildKit was asked for, but the Dockerfile is outside the context (or reached through a symlink), and BuildKit ' +
        'through the Engine API can only read a Dockerfile from inside it. Widen `context` to include the Dockerfile, or ask for `builder: "classic"`.',
      why: 'the Dockerfile is outside the context, which only the classic builder can take'
    }
  }
  // The Engine's BuildKit runs RUN steps on default, none or host only ("network mode … not supported by buildkit").
  if (isNamedNetwork(needs.network)) {
    return {
      code: 'BUILDKIT_NETWORK_UNSUPPORTED',
      refusal:
        `BuildKit was asked for, but this server runs RUN steps on the network '${needs.network}' (SLIPWAY_BUILD_NETWORK), which ` +
        'BuildKit through the Engine API cannot join. Ask for `builder: "classic"` (or leave `builder` out), or for `network: "none"`.',
      why: `RUN steps join the network '${needs.network}', which only the classic builder can`
    }
  }
  return null
}

function compareVersions (version: string, minimum: number[]): number {
  const parts = version.split('.').map(Number)
  for (const [i, wanted] of minimum.entries()) {
    const part = parts[i] ?? 0
    if (part !== wanted) return part - wanted
  }
  return 0
}
