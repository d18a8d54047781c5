import type Docker from 'dockerode'
import type { RanOn } from '../../src/domain/schemas/build.js'

// A build's start waits this long at most for the engine to say who it is, then goes on without.
const INFO_TIMEOUT_MS = 5000

export type EngineIdentity = NonNullable<RanOn['engine']>
/** The engine's id and name, or null when it could not be asked. */
export type EngineLookup = () => Promise<EngineIdentity | null>

interface Info {
  ID?: string
  Name?: string
}

/**
 * Who the worker's Docker Engine is, as `docker info` says (ID and Name), asked once per process:
 * an engine keeps its id and name while it runs, and asking at every build would cost each one a
 * call that lists the engine's containers and images. Concurrent callers share one question. An
 * engine that cannot be asked (down, or slower than the time limit) gives null, and is asked again
 * the next time.
 */
export function engineIdentity (docker: Pick<Docker, 'info'>, options: { timeoutMs?: number } = {}): EngineLookup {
  const timeoutMs = options.timeoutMs ?? INFO_TIMEOUT_MS
  // @types/dockerode leaves out info's options; dockerode hands abortSignal to the request.
  const info = docker.info.bind(docker) as unknown as (options: { abortSignal: AbortSignal }) => Promise<Info>
  let known: EngineIdentity | null = null
  let asking: Promise<EngineIdentity | null> | null = null

  const ask = async (): Promise<EngineIdentity | null> => {
    const controller = new AbortController()
    let timer: NodeJS.Timeout | undefined
    // dockerode may not give up on a request that never answers: the race does.
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        controller.abort()
        reject(new Error(`docker info did not answer within ${timeoutMs} ms`))
      }, timeoutMs)
    })
    try {
      const answer = await Promise.race([info({ abortSignal: controller.signal }), timedOut])
      known = { id: answer.ID ?? 'unknown', name: answer.Name ?? 'unknown' }
      return known
    } catch {
      return null
    } finally {
      clearTimeout(timer)
    }
  }

  return async () => {
    if (known) return known
    asking ??= ask().finally(() => {
      asking = null
    })
    return asking
  }
}
