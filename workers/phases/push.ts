import { setTimeout } from 'node:timers/promises'
import type Docker from 'dockerode'
import { BuildFailure, isDockerUnreachable } from '../../src/domain/builds/build-failure.js'
import { dockerMessages, messageError } from '../docker/json-stream.js'
import type { RegistryAuth } from '../docker/registry-auth.js'

export interface PushInput {
  docker: Docker
  repository: string
  registry: string
  tags: string[]
  auth: RegistryAuth | undefined
  signal: AbortSignal
  log: (stream: 'stdout' | 'stderr' | 'system', text: string) => void
}

/**
 * Pushes every tag. A push succeeded only if its stream ended with no error message and with the
 * manifest digest the registry accepted; every tag must name the same digest.
 */
export async function pushImage (input: PushInput): Promise<{ digest: string }> {
  const digests = new Set<string>()
  input.log('system', `Pushing to ${input.registry} ${input.auth ? `as ${input.auth.username}` : 'anonymously'}`)
  for (const tag of input.tags) digests.add(await pushTagWithRetries(input, tag))
  if (digests.size !== 1) {
    throw new BuildFailure('PUSH_FAILED', `The registry reported different digests for one image: ${[...digests].join(', ')}.`)
  }
  return { digest: [...digests][0]! }
}

// A registry that is briefly away (a restart, a deploy) is waited for, not blamed at once.
const RETRY_DELAYS_MS = [2000, 5000, 10_000]

async function pushTagWithRetries (input: PushInput, tag: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await pushTag(input, tag)
    } catch (error) {
      const delay = RETRY_DELAYS_MS[attempt]
      if (!(error instanceof BuildFailure) || error.code !== 'REGISTRY_UNREACHABLE' || delay === undefined) throw error
      input.log('system', `${input.registry} could not be reached; trying again in ${delay / 1000} s (${attempt + 1} of ${RETRY_DELAYS_MS.length})`)
      await setTimeout(delay, undefined, { signal: input.signal })
    }
  }
}

async function pushTag (input: PushInput, tag: string): Promise<string> {
  let body: NodeJS.ReadableStream
  try {
    body = await input.docker.getImage(input.repository).push({
      tag,
      ...(input.auth ? { authconfig: input.auth } : {}),
      abortSignal: input.signal
    })
  } catch (error) {
    if (isDockerUnreachable(error)) {
      throw new BuildFailure('DOCKER_UNAVAILABLE', `The worker cannot reach the Docker Engine (${(error as Error).message}).`)
    }
    throw error
  }
  let digest: string | undefined
  for await (const message of dockerMessages(body as AsyncIterable<Buffer>)) {
    const error = messageError(message)
    if (error !== undefined) {
      input.log('stderr', error)
      throw pushFailure(error, input)
    }
    if (typeof message.aux === 'object' && message.aux.Digest) digest = message.aux.Digest
    // Per-layer byte progress is noise in a log; the layer's changes of state are not.
    if (message.status && !message.progress && message.status !== 'Pushing') {
      input.log('stdout', message.id ? `${message.id}: ${message.status}` : message.status)
    }
  }
  if (!digest) throw new BuildFailure('PUSH_FAILED', `Pushing ${input.repository}:${tag} ended without the registry reporting a digest.`)
  return digest
}

function pushFailure (error: string, input: PushInput): BuildFailure {
  if (/unauthorized|authentication required|no basic auth credentials|incorrect username or password/i.test(error)) {
    const had = input.auth ? `refused the credentials for ${input.auth.username}` : 'requires credentials and the worker has none for it'
    return new BuildFailure(
      'PUSH_UNAUTHORIZED',
      `${input.registry} ${had} (${error}). Log in with \`docker login ${input.registry}\` into the Docker config the worker reads (SLIPWAY_DOCKER_CONFIG).`
    )
  }
  if (/denied|forbidden|insufficient_scope/i.test(error)) {
    return new BuildFailure('PUSH_DENIED', `${input.registry} denied the push to ${input.repository} (${error}). Check the account may push there.`)
  }
  if (/connection refused|no such host|i\/o timeout|dial tcp|connection reset|server gave HTTP response|EOF/i.test(error)) {
    return new BuildFailure('REGISTRY_UNREACHABLE', `${input.registry} could not be reached (${error}).`)
  }
  return new BuildFailure('PUSH_FAILED', `Pushing to ${input.registry} failed: ${error}`)
}
