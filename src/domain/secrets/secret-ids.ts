// What names a secret, in a module of its own: the build schema (which the portal's types read,
// in the browser) needs these and nothing of Node.

export const SECRET_KINDS = ['secret', 'ssh'] as const
export type SecretKind = (typeof SECRET_KINDS)[number]

/** An id as a Dockerfile names it (`--mount=type=secret,id=npm`). */
export const SECRET_ID_PATTERN = '^[A-Za-z0-9_.-]{1,64}$'

/** The id `RUN --mount=type=ssh` uses when it names none. */
export const DEFAULT_SSH_ID = 'default'
