// What `slipway` exits with, so a CI job can tell a broken Dockerfile from a broken network.
// --help and docs/reference/cli.md's table are written from this list; test/readme.test.ts keeps that page to it.

export const EXIT = {
  ok: 0,
  buildFailed: 1,
  usage: 2,
  unreachable: 3,
  rejected: 4,
  unauthorized: 5,
  canceled: 6,
  timedOut: 7,
  internal: 70,
  interrupted: 130
} as const
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

export const EXIT_CODE_MEANINGS: readonly [ExitCode, string][] = [
  [EXIT.ok, 'done; a followed build succeeded'],
  [EXIT.buildFailed, 'the build failed (its error code and message are printed)'],
  [EXIT.usage, 'usage error: an unknown flag, a missing argument or setting'],
  [EXIT.unreachable, 'Slipway (or Redis, for token --redis) could not be reached, or answered 5xx: try again later'],
  [EXIT.rejected, 'the API refused the request (4xx): its code and message say why'],
  [EXIT.unauthorized, 'the token is missing, unknown, revoked, lacks the scope, or may not push there (401, 403)'],
  [EXIT.canceled, 'the build was canceled'],
  [EXIT.timedOut, 'the build ran past its time limit'],
  [EXIT.internal, 'an unexpected error in slipway itself (a bug: please report it)'],
  [EXIT.interrupted, 'interrupted (Ctrl-C) while following; the build goes on']
]

/** A mistake in how the command was called; the message says what to write instead. */
export class UsageError extends Error {
  override name = 'UsageError'
}
