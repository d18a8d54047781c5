import type { FailureCode } from './failure-codes.js'

/** A build ending for a reason its owner can act on: becomes the build's `error`. */
export class BuildFailure extends Error {
  override name = 'BuildFailure'
  constructor (
    readonly code: FailureCode,
    message: string,
    readonly details: { step?: string; exitCode?: number } = {}
  ) {
    super(message)
  }
}

/** The Docker Engine is down or its socket is missing: worth saying plainly rather than as INTERNAL. */
export function isDockerUnreachable (error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'ECONNRESET' || code === 'EPIPE'
}
