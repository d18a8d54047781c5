import type Docker from 'dockerode'
import { isNamedNetwork } from '../../src/domain/builds/build-network.js'
import { BuildFailure } from '../../src/domain/builds/build-failure.js'

/**
 * Whether the Docker Engine has the network: an operator's network that is gone would otherwise
 * fail the first RUN step with the daemon's "network … not found".
 */
export async function networkExists (docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getNetwork(name).inspect()
    return true
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false
    throw error
  }
}

/** Fails the build plainly when its network is a named one the engine no longer has. */
export async function checkBuildNetwork (docker: Docker, network: string): Promise<void> {
  if (!isNamedNetwork(network) || (await networkExists(docker, network))) return
  throw new BuildFailure(
    'WORKER_CONFIG_INVALID',
    `The build network '${network}' (SLIPWAY_BUILD_NETWORK) does not exist on this worker's Docker Engine. ` +
      'The operator must create it again (docs/operations/build-network.md shows how) or change the setting.'
  )
}
