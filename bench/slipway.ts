// Slipway as the bench sections drive it: real processes on real Redis, talked to over HTTP.
import { readFile } from 'node:fs/promises'
import type { Scope } from '../src/domain/auth/tokens.js'
import type { Config } from '../src/domain/config.js'
import type { Build } from '../src/domain/schemas/build.js'
import { asAdmin, testConfig } from '../test/helpers/config.js'
import { freePort } from '../test/helpers/ports.js'
import { startSlipwayProcess } from '../test/helpers/processes.js'
import { readSse } from '../test/helpers/sse.js'
import type { Teardown } from '../test/helpers/teardown.js'

export interface RunningSlipway {
  /** The API's base URL. */
  api: string
  config: Config
  apiPid: number
  /** The build worker's process, when one was asked for. */
  workerPid: number | null
}

/**
 * An API process with a Redis key prefix of its own (removed at teardown), and optionally a
 * build worker beside it on the same prefix.
 */
export async function startSlipway (scope: Teardown, options: { worker: boolean; config?: Partial<Config> }): Promise<RunningSlipway> {
  const config = testConfig(scope, { port: await freePort(), ...options.config })
  const api = await startSlipwayProcess(scope, config, 'api')
  const worker = options.worker ? await startSlipwayProcess(scope, config, 'worker') : null
  return { api: `http://127.0.0.1:${config.port}`, config, apiPid: api.pid, workerPid: worker?.pid ?? null }
}

/** POSTs a build as the admin; throws unless it was accepted. */
export async function postBuild (api: string, body: object): Promise<Build> {
  const response = await fetch(`${api}/v1/builds`, { method: 'POST', headers: asAdmin({ 'content-type': 'application/json' }), body: JSON.stringify(body) })
  if (response.status !== 202) throw new Error(`POST /v1/builds answered ${response.status}: ${await response.text()}`)
  return (await response.json()) as Build
}

/** A stored token with these scopes, made over the API as a client's admin would. */
export async function createToken (api: string, scopes: Scope[]): Promise<string> {
  const response = await fetch(`${api}/v1/tokens`, {
    method: 'POST',
    headers: asAdmin({ 'content-type': 'application/json' }),
    body: JSON.stringify({ name: 'bench', scopes })
  })
  if (response.status !== 201) throw new Error(`POST /v1/tokens answered ${response.status}: ${await response.text()}`)
  return ((await response.json()) as { token: string }).token
}

/** A process's resident memory now and at its peak, in bytes, from the kernel. */
export async function memoryOf (pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024
  return { rss: kb('VmRSS'), peak: kb('VmHWM') }
}

/** The build once it has ended, from its log stream's `end` event (no polling). */
export async function untilEnded (api: string, id: string): Promise<Build> {
  for await (const event of readSse(`${api}/v1/builds/${id}/logs`, { headers: asAdmin() })) {
    if (event.event === 'end') return JSON.parse(event.data) as Build
  }
  throw new Error(`the log stream of build ${id} closed before it ended`)
}
