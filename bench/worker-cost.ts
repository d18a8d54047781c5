// What the build worker itself costs per build, measured rather than timed: its CPU time and the
// Redis commands it sends, for no-cache builds of the benchmark app (bench/build-vs-hand.ts). On a
// shared machine wall-clock figures move by more than the worker's share; these do not.
//
//   npx tsc -p tsconfig.bench.json && node dist/bench/worker-cost.js [builds] [buildkit|classic]
//
// It runs a Redis server of its own (so INFO commandstats and MONITOR see only this run), an API
// process and a worker under `node --cpu-prof` (the profile is written when it stops), a registry
// and a git repository. Per build it prints the worker's CPU ms (/proc/<pid>/stat), the Redis
// commands each process sent (MONITOR, sorted out by the connection's owner with `ss`) and those
// run inside scripts, and the time from the push's end to the build's end. Not a bench section:
// a tool for whoever works on the worker's hot path.
import { execFile, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { once } from 'node:events'
import { createConnection } from 'node:net'
import { fileURLToPath } from 'node:url'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { createScope } from '../test/helpers/teardown.js'
import { createRepo } from '../test/helpers/git-repo.js'
import { startRegistry } from '../test/helpers/registry.js'
import { testConfig } from '../test/helpers/config.js'
import { freePort } from '../test/helpers/ports.js'
import { configEnv, startSlipwayProcess } from '../test/helpers/processes.js'
import type { Config } from '../src/domain/config.js'
import { benchmarkApp } from './build-vs-hand.js'
import { postBuild, untilEnded } from './slipway.js'

const exec = promisify(execFile)
const builds = Number(process.argv[2] ?? 5)
const builder = (process.argv[3] ?? 'buildkit') as 'buildkit' | 'classic'
const profileDir = process.env.WORKER_PROFILE_DIR ?? path.join(os.tmpdir(), 'slipway-worker-profiles')

const scope = createScope()
try {
  const port = await freePort()
  const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  scope.teardown(() => server.kill('SIGTERM'))
  // Asked until it answers: refused while it starts.
  let redis: Redis
  for (;;) {
    redis = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    redis.on('error', () => undefined)
    if (await redis.connect().then(() => true, () => false)) break
    redis.disconnect()
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  scope.teardown(() => redis.disconnect())

  const repo = await createRepo(scope, benchmarkApp())
  const registry = await startRegistry(scope)
  const config = testConfig(scope, { port: await freePort(), redisUrl: `redis://127.0.0.1:${port}`, allowLocalRepos: true, builder })
  const api = await startSlipwayProcess(scope, config, 'api')
  const worker = await startProfiledWorker(config)
  const base = `http://127.0.0.1:${config.port}`

  const monitor = watchCommands(port)
  const build = async (tag: string) => {
    const posted = await postBuild(base, { repo: repo.url, image: `${registry.host}/bench/cost`, tags: [tag], noCache: true, force: true })
    return untilEnded(base, posted.id)
  }
  // The first build fills the mirror and warms the JIT; it is not counted.
  await build('warm-up')
  const rows: string[] = []
  const windows: bigint[][] = []
  for (let n = 1; n <= builds; n++) {
    monitor.reset()
    const cpuBefore = await cpuMs(worker.pid)
    // The CPU profile's clock: its samples inside these windows are the counted builds'.
    windows.push([process.hrtime.bigint() / 1000n])
    const ended = await build(`cost-${n}`)
    windows.at(-1)!.push(process.hrtime.bigint() / 1000n)
    const cpu = (await cpuMs(worker.pid)) - cpuBefore
    // Lines a worker writes after the end (its announcement) land just after it.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const byOwner = await monitor.countByOwner({ [worker.pid]: 'worker', [api.pid]: 'api' })
    const push = ended.phases.find((phase) => phase.name === 'push')
    const attest = ended.phases.find((phase) => phase.name === 'attest')
    const at = (time: string | null | undefined) => (time ? Date.parse(time) : NaN)
    // From the push's end: the wait for the image's reading (packages, deleted files), the attest
    // phase, and what is left before the build's end.
    const tail = `${at(ended.finishedAt) - at(push?.finishedAt)} ms (${at(attest?.startedAt) - at(push?.finishedAt)} + ${attest?.durationMs} + ${at(ended.finishedAt) - at(attest?.finishedAt)})`
    rows.push(
      `build ${n}: ${ended.status} in ${ended.durationMs} ms; worker CPU ${cpu} ms; push end → end ${tail}; ` +
        `Redis commands: ${Object.entries(byOwner.counts).map(([owner, count]) => `${owner} ${count}`).join(', ')}; ` +
        `phases ${ended.phases.map((phase) => `${phase.name} ${phase.durationMs}`).join(', ')}`
    )
    console.error(rows.at(-1))
    if (n === builds) console.error(`worker's commands, last build: ${JSON.stringify(byOwner.byCommand.worker)}\nin scripts: ${JSON.stringify(byOwner.byCommand.lua)}`)
  }
  monitor.stop()
  console.log(rows.join('\n'))
  console.log(`windows ${JSON.stringify(windows.map((window) => window.map(String)))}`)
} finally {
  await scope.close()
}

/** A worker process like startSlipwayProcess's, under --cpu-prof (which NODE_OPTIONS may not carry). */
async function startProfiledWorker (config: Config): Promise<{ pid: number; kill: (signal: NodeJS.Signals) => void }> {
  const entry = fileURLToPath(new URL('../src/server.js', import.meta.url))
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, entry], {
    env: { ...process.env, ...configEnv({ ...config, role: 'worker', logLevel: 'info' }) },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const exited = once(child, 'exit')
  scope.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const ready = (chunk: string) => {
      output += chunk
      if (!output.includes('Server listening')) return
      child.stdout.off('data', ready)
      child.stdout.resume()
      resolve()
    }
    child.stdout.setEncoding('utf8').on('data', ready)
    child.on('exit', (code) => reject(new Error(`the worker exited with ${code}: ${output}`)))
  })
  return { pid: child.pid!, kill: (signal) => child.kill(signal) }
}

/** The process's user + system CPU time so far, in ms. */
async function cpuMs (pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return Math.round((ticks * 1000) / 100)
}

/** Every command the Redis server runs, counted by the address of the client that sent it. */
function watchCommands (port: number) {
  let lines: string[] = []
  const socket = createConnection(port, '127.0.0.1')
  socket.write('MONITOR\r\n')
  let partial = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk
    const parts = partial.split('\r\n')
    partial = parts.pop()!
    lines.push(...parts)
  })
  return {
    reset: () => (lines = []),
    stop: () => socket.destroy(),
    /** Commands per owning process (by pid), `lua` for those scripts ran, and the rest as `other`. */
    async countByOwner (owners: Record<number, string>) {
      const { stdout } = await exec('ss', ['-tnp', `dport = :${port}`])
      const ownerOf = new Map<string, string>()
      for (const row of stdout.split('\n')) {
        const local = /\s(127\.0\.0\.1:\d+)\s+127\.0\.0\.1:\d+\s/.exec(row)?.[1]
        const pid = Number(/pid=(\d+)/.exec(row)?.[1])
        if (local) ownerOf.set(local, owners[pid] ?? 'other')
      }
      const counts: Record<string, number> = {}
      const byCommand: Record<string, Record<string, number>> = {}
      for (const line of lines) {
        const match = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line)
        if (!match) continue
        const owner = match[1] === 'lua' ? 'lua' : (ownerOf.get(match[1]!) ?? 'other')
        const command = match[2]!.toLowerCase()
        counts[owner] = (counts[owner] ?? 0) + 1
        const commands = (byCommand[owner] ??= {})
        commands[command] = (commands[command] ?? 0) + 1
      }
      return { counts, byCommand }
    }
  }
}
