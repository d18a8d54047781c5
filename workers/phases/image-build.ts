import type { Readable } from 'node:stream'
import type Docker from 'dockerode'
import { BuildFailure, isDockerUnreachable } from '../build-failure.js'
import { dockerMessages, messageError, type DockerMessage } from '../docker/json-stream.js'
import type { RegistryAuthMap } from '../docker/registry-auth.js'
import { createLineSplitter } from '../line-splitter.js'

export interface ImageBuildInput {
  docker: Docker
  context: Readable
  /** The Dockerfile's path inside the context tar. */
  dockerfile: string
  /** Full references (repository:tag) to tag the image with. */
  tags: string[]
  buildArgs: Record<string, string>
  labels: Record<string, string>
  target: string | null
  noCache: boolean
  /** Credentials for pulling private base images. */
  registryAuth: RegistryAuthMap
  signal: AbortSignal
  log: (stream: 'stdout' | 'stderr' | 'system', text: string) => void
  /** Waits while the log is behind, so a flood of output slows the read instead of filling memory. */
  drain: () => Promise<void>
}

/**
 * Builds with the Engine API's classic builder. Success is the stream ending with an image id and
 * no error message: the daemon reports a failed step inside a normally finished 200 stream.
 */
export async function buildImage(input: ImageBuildInput): Promise<{ imageId: string }> {
  // A context file that cannot be read must end the build, not leave the upload hanging.
  const contextFailed = new AbortController()
  let contextError: Error | undefined
  input.context.once('error', (error) => {
    contextError = error
    contextFailed.abort(error)
  })
  const signal = AbortSignal.any([input.signal, contextFailed.signal])
  try {
    return await streamBuild(input, signal)
  } catch (error) {
    if (contextError && !input.signal.aborted) {
      throw new BuildFailure('BUILD_FAILED', `Reading the build context failed: ${contextError.message}`)
    }
    throw error
  }
}

async function streamBuild(input: ImageBuildInput, signal: AbortSignal): Promise<{ imageId: string }> {
  let body: NodeJS.ReadableStream
  try {
    body = await input.docker.buildImage(input.context, {
      dockerfile: input.dockerfile,
      t: input.tags as unknown as string, // the Engine API takes `t` once per tag
      buildargs: input.buildArgs,
      labels: input.labels,
      ...(input.target ? { target: input.target } : {}),
      nocache: input.noCache,
      rm: true,
      forcerm: true,
      registryconfig: input.registryAuth,
      version: '1',
      abortSignal: signal
    })
  } catch (error) {
    throw requestFailure(error)
  }

  let imageId: string | undefined
  let step: string | undefined
  const output = createLineSplitter((line) => {
    const header = /^Step \d+\/\d+ : .*/.exec(line)
    if (header) step = header[0]
    input.log('stdout', line)
  })
  for await (const message of dockerMessages(body as AsyncIterable<Buffer>)) {
    const error = messageError(message)
    if (error !== undefined) {
      output.end()
      input.log('stderr', error)
      throw stepFailure(error, step)
    }
    if (message.stream !== undefined) output.push(message.stream)
    else if (message.status !== undefined) logPullStatus(message, input.log)
    if (message.aux?.ID) imageId = message.aux.ID
    await input.drain()
  }
  output.end()
  if (!imageId) throw new BuildFailure('BUILD_FAILED', 'The builder finished without reporting an image; the log shows its last words.')
  return { imageId }
}

// Pull progress repeats many times a second per layer; only the changes of state are worth a line.
function logPullStatus(message: DockerMessage, log: ImageBuildInput['log']): void {
  if (message.progress || /^(Downloading|Extracting|Waiting|Verifying Checksum)$/.test(message.status ?? '')) return
  log('stdout', message.id ? `${message.id}: ${message.status}` : (message.status ?? ''))
}

/** The daemon refused the build before streaming (HTTP 4xx/5xx), or could not be reached. */
function requestFailure(error: unknown): unknown {
  if (isDockerUnreachable(error)) {
    return new BuildFailure('DOCKER_UNAVAILABLE', `The worker cannot reach the Docker Engine (${(error as Error).message}).`)
  }
  const status = (error as { statusCode?: number }).statusCode
  if (status === undefined) return error
  const reason = daemonReason(error)
  if (/dockerfile parse error|unknown instruction|unknown flag|unexpected|syntax/i.test(reason)) {
    return new BuildFailure('DOCKERFILE_INVALID', `Docker could not read the Dockerfile: ${reason}`)
  }
  if (/target stage .* could not be found|failed to reach build target/i.test(reason)) {
    return new BuildFailure('TARGET_NOT_FOUND', `${reason}. Check the stage names (FROM … AS name) in the Dockerfile.`)
  }
  return new BuildFailure('BUILD_FAILED', `Docker refused the build: ${reason}`)
}

function stepFailure(error: string, step: string | undefined): BuildFailure {
  const where = step ?? 'The build'
  const exit = /returned a non-zero code: (\d+)/.exec(error)
  if (exit) {
    const exitCode = Number(exit[1])
    return new BuildFailure('BUILD_STEP_FAILED', `${where} failed with exit code ${exitCode}. The log shows the step's output.`, {
      ...(step ? { step } : {}),
      exitCode
    })
  }
  const details = step ? { step } : {}
  if (/failed to reach build target|target stage .* could not be found/i.test(error)) {
    return new BuildFailure('TARGET_NOT_FOUND', `${error}. Check the stage names (FROM … AS name) in the Dockerfile.`, details)
  }
  if (/^Step \d+\/\d+ : FROM /i.test(where) && /pull access denied|manifest unknown|not found|no such host|repository does not exist|failed to resolve/i.test(error)) {
    return new BuildFailure('BASE_IMAGE_NOT_FOUND', `${where}: the base image is not available: ${error}`, details)
  }
  return new BuildFailure('BUILD_FAILED', `${where}: ${error}`, details)
}

/** The daemon's own words from a dockerode error ("(HTTP code 400) unexpected - <reason>"). */
function daemonReason(error: unknown): string {
  const json = (error as { json?: { message?: string } | string }).json
  const message = typeof json === 'object' && json?.message ? json.message : (error as Error).message
  return message.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim()
}
