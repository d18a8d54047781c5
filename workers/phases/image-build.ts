import type { Readable } from 'node:stream'
import type Docker from 'dockerode'
import type { Builder, Step } from '../../src/domain/schemas/build.js'
import { BuildFailure, isDockerUnreachable } from '../../src/domain/builds/build-failure.js'
import { classifyBuildError } from '../docker/build-errors.js'
import { removeIntermediates } from '../docker/host-cleanup.js'
import { buildkitProgress } from '../docker/buildkit-progress.js'
import { classicProgress } from '../docker/classic-progress.js'
import { dockerMessages, messageError, type DockerMessage } from '../docker/json-stream.js'
import type { CacheImportResult, ProgressReader } from '../docker/progress.js'
import type { RegistryAuthMap } from '../docker/registry-auth.js'
import { openBuildkitSession, type BuildkitSession, type SessionMethod } from '../docker/buildkit-session.js'
import { registryCredentials } from '../docker/session-auth.js'
import { buildSecrets } from '../docker/session-secrets.js'
import { sshAgents } from '../docker/session-ssh.js'
import { syncedFolders, type SyncedFolder } from '../docker/session-files.js'

/** What each build step's container may use. The classic builder applies them; BuildKit through the Engine API does not. */
export interface BuildLimits {
  memoryBytes: number
  cpus: number
}

// Docker's CPU limit: quota microseconds of CPU per period.
const CPU_PERIOD = 100_000

export interface ImageBuildInput {
  docker: Docker
  builder: Builder
  /**
   * The build context. The classic builder takes it as a tar in the request; BuildKit reads it
   * through the build's session, file by file, asking only for what it has not kept under `key`
   * (builds of one repository and context share a key).
   */
  context: { tar: () => Readable; folder: SyncedFolder; key: string }
  /** The Dockerfile's path inside the context. */
  dockerfile: string
  /** Full references (repository:tag) to tag the image with. */
  tags: string[]
  buildArgs: Record<string, string>
  labels: Record<string, string>
  target: string | null
  noCache: boolean
  limits: BuildLimits
  /** What RUN steps run on: default, none, or a Docker network's name (classic builder only). */
  network: string
  /** Credentials for private base images and registry cache, each given only to its own registry. */
  registryAuth: RegistryAuthMap
  /**
   * What RUN --mount=type=secret and type=ssh steps may use, by id: secrets' bytes and SSH private
   * keys. Served through the build's BuildKit session only while the build runs; the keys stay here.
   */
  buildSecrets?: { secrets: Record<string, Buffer>; ssh: Record<string, Buffer> }
  /** Pull every FROM image from its registry (SLIPWAY_BASE_IMAGE_PULL=always), not only those the engine lacks. */
  pullBaseImages: boolean
  /**
   * BuildKit's registry cache: `inline` adds cache metadata to the image's config (for a build that
   * pushes), `importFrom` names images to read cache from. Sent to the engine only, never recorded
   * as the request's build args: BUILDKIT_INLINE_CACHE is the builder's switch, not the user's.
   */
  registryCache?: { inline: boolean; importFrom: string[] }
  /** Called as each registry cache import ends, imported or not (BuildKit reports them). */
  onCacheImport?: (result: CacheImportResult) => void
  signal: AbortSignal
  log: (stream: 'stdout' | 'stderr' | 'system', text: string) => void
  /** The Dockerfile line of a step the builder names (ProgressSink.locate). */
  locateStep: (where: { stage: string | null; position: number }) => number | null
  /** Called with the steps so far whenever they change. */
  onSteps: (steps: Step[]) => void
  /** Waits while the log is behind, so a flood of output slows the read instead of filling memory. */
  drain: () => Promise<void>
}

/**
 * Builds through the Engine API with either builder. Success is the stream ending with an image
 * id and no error message: the daemon reports a failed step inside a normally finished 200 stream.
 */
export async function buildImage (input: ImageBuildInput): Promise<{ imageId: string }> {
  // A context file that cannot be read must end the build, not leave the upload hanging.
  const contextFailed = new AbortController()
  let contextError: Error | undefined
  const failContext = (error: Error) => {
    contextError ??= error
    contextFailed.abort(error)
  }
  const signal = AbortSignal.any([input.signal, contextFailed.signal])
  try {
    return await streamBuild(input, signal, failContext)
  } catch (error) {
    if (contextError && !input.signal.aborted) {
      throw new BuildFailure('BUILD_FAILED', `Reading the build context failed: ${contextError.message}`)
    }
    throw error
  }
}

/**
 * BuildKit asks for the context, registry credentials and secrets through a session of the
 * build's own, which ends with the build whatever way it ends; the classic builder takes the
 * context and credentials in the request (the body and X-Registry-Config).
 */
async function streamBuild (input: ImageBuildInput, signal: AbortSignal, failContext: (error: Error) => void): Promise<{ imageId: string }> {
  if (input.builder === 'classic') {
    const tar = input.context.tar()
    tar.once('error', failContext)
    return readBuild(input, signal, { tar })
  }
  const session = await openSession(input, signal, failContext)
  try {
    return await readBuild(input, signal, { session: session.id })
  } finally {
    session.close()
  }
}

async function openSession (input: ImageBuildInput, signal: AbortSignal, failContext: (error: Error) => void): Promise<BuildkitSession> {
  const folder = input.context.folder
  const methods: SessionMethod<never, unknown>[] = [
    // BuildKit loads the Dockerfile from a folder named "dockerfile" and the rest from "context";
    // the Dockerfile's path is the same in both, so one folder serves both names.
    syncedFolders({ context: folder, dockerfile: folder }, failContext),
    registryCredentials(input.registryAuth)
  ]
  if (input.buildSecrets) methods.push(buildSecrets(input.buildSecrets.secrets), ...sshAgents(input.buildSecrets.ssh))
  try {
    return await openBuildkitSession(input.docker, methods, signal, input.context.key)
  } catch (error) {
    throw requestFailure(error)
  }
}

/** How the build's context reaches the engine: a tar in the request, or through a session. */
type ContextTransport = { tar: Readable } | { session: string }

async function readBuild (input: ImageBuildInput, signal: AbortSignal, transport: ContextTransport): Promise<{ imageId: string }> {
  const body = await requestBuild(input, signal, transport)
  const sink = {
    log: input.log,
    pullStatus: (message: DockerMessage) => logPullStatus(message, input.log),
    stepsChanged: () => input.onSteps(progress.steps),
    locate: input.locateStep,
    cacheImported: (result: CacheImportResult) => input.onCacheImport?.(result)
  }
  const progress: ProgressReader = input.builder === 'buildkit' ? buildkitProgress(sink) : classicProgress(sink)
  try {
    for await (const message of dockerMessages(body as AsyncIterable<Buffer>)) {
      const error = messageError(message)
      if (error !== undefined) {
        const failure = progress.fail(error)
        input.log('stderr', error)
        input.onSteps(progress.steps)
        throw explainNoNetwork(failure, input.network)
      }
      progress.read(message)
      await input.drain()
    }
  } catch (error) {
    // A failed or stopped build keeps none of the classic builder's intermediate images it made.
    await removeIntermediates(input.docker, progress.intermediates)
    throw error
  }
  progress.finish()
  input.onSteps(progress.steps)
  if (!progress.imageId) throw new BuildFailure('BUILD_FAILED', 'The builder finished without reporting an image; the log shows its last words.')
  return { imageId: progress.imageId }
}

/**
 * Starts the build through the Engine API: its answer is the stream of the build's messages.
 * Dialled here rather than through dockerode's buildImage, which opens a BuildKit session of its
 * own that hands one credential to every registry a Dockerfile names.
 */
async function requestBuild (input: ImageBuildInput, signal: AbortSignal, transport: ContextTransport): Promise<NodeJS.ReadableStream> {
  const query = {
    dockerfile: input.dockerfile,
    t: input.tags, // the Engine API takes `t` once per tag
    buildargs: input.registryCache?.inline ? { ...input.buildArgs, BUILDKIT_INLINE_CACHE: '1' } : input.buildArgs,
    ...(input.registryCache?.importFrom.length ? { cachefrom: JSON.stringify(input.registryCache.importFrom) } : {}),
    labels: input.labels,
    ...(input.target ? { target: input.target } : {}),
    nocache: input.noCache,
    // Never the host network: the operator's choice, or none (config and request schema see to it).
    networkmode: input.network,
    // No swap beyond the memory limit.
    memory: input.limits.memoryBytes,
    memswap: input.limits.memoryBytes,
    cpuperiod: CPU_PERIOD,
    cpuquota: Math.round(input.limits.cpus * CPU_PERIOD),
    rm: true,
    forcerm: true,
    pull: input.pullBaseImages,
    version: input.builder === 'buildkit' ? '2' : '1',
    ...('session' in transport ? { session: transport.session, remote: 'client-session' } : {})
  }
  try {
    return await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
      input.docker.modem.dial({
        path: '/build?',
        method: 'POST',
        // Always a body: without one, docker-modem would send the options as JSON instead.
        file: 'tar' in transport ? transport.tar : Buffer.alloc(0),
        options: query,
        registryconfig: input.registryAuth,
        isStream: true,
        abortSignal: signal,
        statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' }
      }, (error: Error | null, body: unknown) => (error ? reject(error) : resolve(body as NodeJS.ReadableStream)))
    })
  } catch (error) {
    throw requestFailure(error)
  }
}

/** A step that failed without a network most likely wanted one: the build says so. */
function explainNoNetwork (failure: BuildFailure, network: string): BuildFailure {
  if (network !== 'none' || failure.code !== 'BUILD_STEP_FAILED') return failure
  const why = ' The build ran its RUN steps without a network (network: none), so steps that download (apt-get, apk, npm install, pip install, curl) fail.'
  return new BuildFailure(failure.code, failure.message + why, failure.details)
}

// Pull progress repeats many times a second per layer; only the changes of state are worth a line.
function logPullStatus (message: DockerMessage, log: ImageBuildInput['log']): void {
  if (message.progress || /^(Downloading|Extracting|Waiting|Verifying Checksum)$/.test(message.status ?? '')) return
  log('stdout', message.id ? `${message.id}: ${message.status}` : (message.status ?? ''))
}

/** The daemon refused the build before streaming (HTTP 4xx/5xx), or could not be reached. */
function requestFailure (error: unknown): unknown {
  if (isDockerUnreachable(error)) {
    return new BuildFailure('DOCKER_UNAVAILABLE', `The worker cannot reach the Docker Engine (${(error as Error).message}).`)
  }
  if ((error as { statusCode?: number }).statusCode === undefined) return error
  const failure = classifyBuildError(daemonReason(error), undefined)
  return failure.code === 'BUILD_FAILED' ? new BuildFailure('BUILD_FAILED', `Docker refused the build: ${daemonReason(error)}`) : failure
}

/** The daemon's own words from a dockerode error ("(HTTP code 400) unexpected - <reason>"). */
function daemonReason (error: unknown): string {
  const json = (error as { json?: { message?: string } | string }).json
  const message = typeof json === 'object' && json?.message ? json.message : (error as Error).message
  return message.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim()
}
