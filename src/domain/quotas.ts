import { envName, type Config } from './config.js'
import { QuotaExceeded } from './errors.js'
import { formatBytes } from './format.js'
import type { Actor } from './schemas/audit.js'

// What each quota limits, for the one error all of them answer with (429 QUOTA_EXCEEDED). The
// counting is kept where the counted thing is stored: builds in the build store, follows in
// log-follower leases, upload bytes in the upload store.

export type Quota = keyof Pick<Config, 'quotaActiveBuilds' | 'quotaLogFollowers' | 'quotaUploadBytes'>

const QUOTAS: Record<Quota, { what: string; amount: (limit: number) => string; next: string }> = {
  quotaActiveBuilds: {
    what: 'builds queued or running at once',
    amount: (limit) => `${limit} builds`,
    next: 'Wait for one of them to end, or cancel one (POST /v1/builds/{id}/cancel), then submit again.'
  },
  quotaLogFollowers: {
    what: 'log followers at once',
    amount: (limit) => `${limit} open follows`,
    next: 'Close one of its open follows (those on every API process count), or read the log without following it.'
  },
  quotaUploadBytes: {
    what: 'upload bytes waiting in Redis',
    amount: (limit) => formatBytes(limit),
    next: 'An uploaded tar waits until its build ends: wait for builds of earlier uploads to end (or cancel them), or upload less by listing what the build does not need in .dockerignore.'
  }
}

const WHO: Record<Actor['kind'], string> = { token: 'Token', trigger: 'Trigger rule', operator: 'Operator' }

/** The refusal of one more of `quota` for `actor`, naming the quota, its limit and its setting. */
export function quotaExceeded (quota: Quota, limit: number, actor: Actor): Error {
  const { what, amount, next } = QUOTAS[quota]
  return new QuotaExceeded(`${WHO[actor.kind]} '${actor.name ?? actor.id}'`, what, amount(limit), `${envName(quota)}=${limit}`, next)
}
