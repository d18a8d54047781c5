import { spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { envName, type Config } from '../../src/domain/config.js'
import type { Teardown } from './teardown.js'

// The server entry beside these helpers: src/server.ts under tap, dist/src/server.js for bench/.
const here = fileURLToPath(import.meta.url)
const serverEntry = path.join(path.dirname(here), '..', '..', 'src', `server${path.extname(here)}`)

/** A configuration as the environment variables that give it, for a child process. */
export function configEnv (config: Config): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(config)) env[envName(key)] = String(value)
  return env
}

const START_TIMEOUT_MS = 60_000

/**
 * Slipway in a process of its own, as a separate host would run it (under tap, src/server.ts
 * through tap's TypeScript loader); resolves once it says it has started, stopped at teardown.
 */
export async function startSlipwayProcess (t: Teardown, config: Config, role: Config['role']): Promise<{ pid: number; kill: (signal: NodeJS.Signals) => void }> {
  const loader = process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'))
  const child = spawn(process.execPath, [...loader, serverEntry], {
    env: { ...process.env, ...configEnv({ ...config, role, logLevel: 'info' }) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = once(child, 'exit')
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  })
  // Kept until it has started, for the error if it does not; read and dropped after (it logs
  // every request, which would otherwise pile up here under load).
  let output = ''
  let started = false
  await new Promise<void>((resolve, reject) => {
    // The last thing either role starts is its HTTP server (a worker's serves its metrics).
    const ready = 'Server listening'
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (started) return
      output += chunk
      if (output.includes(ready)) {
        started = true
        output = ''
        resolve()
      }
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (started ? undefined : (output += chunk)))
    child.on('exit', (code) => reject(new Error(`slipway ${role} exited with ${code} before starting:\n${output}`)))
    // A process that neither starts nor exits fails its test with what it printed, not a timeout.
    setTimeout(() => {
      if (started) return
      child.kill('SIGKILL')
      reject(new Error(`slipway ${role} did not start within ${START_TIMEOUT_MS / 1000} s:\n${output}`))
    }, START_TIMEOUT_MS).unref()
  })
  return { pid: child.pid!, kill: (signal) => child.kill(signal) }
}

/** Whether a process of this pid is still there (a signal 0 reaches it). */
export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
