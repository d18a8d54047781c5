import { execFile, spawn } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { once } from 'node:events'
import { open, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import Docker from 'dockerode'
import { tempFolder } from './files.js'
import type { Teardown } from './teardown.js'

const exec = promisify(execFile)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Folders of these daemons are named so, under the OS temp dir; a later start reaps dead ones. */
const DIR_PREFIX = 'slipway-dockerd-'

export interface TestDockerd {
  /** The daemon as DOCKER_HOST names it: unix:///tmp/slipway-dockerd-…/docker.sock */
  host: string
  socketPath: string
  /** A client of this daemon. */
  docker: Docker
  /** Its folder: data-root, exec-root, socket, pid file and log. */
  dir: string
  logFile: string
  /** The network bridge its containers use (its own, never docker0). */
  bridge: string
  /** Stops the daemon and removes its folder and bridge; teardown does it too. Safe to call twice. */
  stop(): Promise<void>
}

/**
 * A Docker daemon of the test's own, beside the machine's: its own socket, data-root, exec-root,
 * pid file, containerd (dockerd starts one under its exec-root) and network bridge. It touches no
 * iptables rules or sysctls, and never docker0: a dockerd started with `--bridge=none` deletes
 * the link named docker0 (Docker 20.10's removeDefaultBridgeInterface), which breaks the main
 * daemon, and BuildKit's RUN needs a bridge network anyway ("network bridge not found"). So the
 * bridge is one made here, with a private /24, and removed at the end.
 *
 * `images` (default busybox:latest) are copied from `source` (default: the engine DOCKER_HOST
 * names) with save → load through the Engine API, since nothing can be pulled here.
 *
 * Needs root (dockerd and `ip link`), as the rest of the integration suite does.
 */
export async function startDockerd (t: Teardown, options: { images?: string[]; source?: Docker } = {}): Promise<TestDockerd> {
  await reapStale()
  // Its own to remove (stopDaemon), once the daemon is gone and nothing is mounted under it.
  const dir = await tempFolder(null, {}, DIR_PREFIX)
  // Who owns this daemon: a later start removes it if this process died without its teardown.
  await writeFile(path.join(dir, 'owner'), String(process.pid))
  const bridge = `slw${randomBytes(4).toString('hex')}`
  const socketPath = path.join(dir, 'docker.sock')
  const logFile = path.join(dir, 'dockerd.log')
  let child: ReturnType<typeof spawn> | undefined
  let stopping: Promise<void> | undefined
  const stop = () => (stopping ??= stopDaemon(dir, bridge, child))
  t.teardown(stop)

  await writeFile(path.join(dir, 'bridge'), bridge)
  await makeBridge(bridge)
  // A config file of its own: /etc/docker/daemon.json (hosts, data-root, …) is the main daemon's.
  // So is /etc/docker/key.json, from which Docker 20.10 derives the engine's ID: a key of its own
  // gives this daemon an ID of its own, as a daemon on another host has.
  await writeFile(path.join(dir, 'daemon.json'), `${JSON.stringify({ 'deprecated-key-path': path.join(dir, 'key.json') })}\n`)
  const log = await open(logFile, 'a')
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('DOCKER_')))
  env.PATH = `${env.PATH ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`
  try {
    child = spawn(
      'dockerd',
      [
        '--config-file', path.join(dir, 'daemon.json'),
        '--host', `unix://${socketPath}`,
        '--data-root', path.join(dir, 'data'),
        '--exec-root', path.join(dir, 'exec'),
        '--pidfile', path.join(dir, 'docker.pid'),
        '--bridge', bridge,
        '--iptables=false',
        '--ip-masq=false',
        '--ip-forward=false',
        '--userland-proxy=false',
        // A container still running at stop gets 2 s, not 10, before it is killed.
        '--shutdown-timeout=2'
      ],
      { env, stdio: ['ignore', log.fd, log.fd] }
    )
  } finally {
    await log.close()
  }
  let spawnError: Error | undefined
  const exited = Promise.race([once(child, 'exit'), once(child, 'error')]).then(() => undefined, () => undefined)
  child.on('error', (error) => (spawnError = error))

  const docker = new Docker({ socketPath })
  const deadline = Date.now() + 60_000
  for (;;) {
    if (spawnError) throw new Error(`dockerd could not be started (${spawnError.message}); is docker.io installed (scripts/setup.sh)?`)
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`dockerd exited (${child.exitCode ?? child.signalCode}) before answering; is docker.io installed (scripts/setup.sh)?\n${await tail(logFile)}`)
    }
    if (await docker.ping().then(() => true, () => false)) break
    if (Date.now() > deadline) throw new Error(`dockerd on ${socketPath} did not answer within 60 s\n${await tail(logFile)}`)
    await Promise.race([sleep(100), exited])
  }

  const source = options.source ?? new Docker()
  for (const image of options.images ?? ['busybox:latest']) await copyImage(source, docker, image)

  return { host: `unix://${socketPath}`, socketPath, docker, dir, logFile, bridge, stop }
}

const CACHE_RELEASE_MS = 15_000

/**
 * Makes an engine as if it had never built anything: every image but `keep` removed, then its
 * whole build cache. For this file's daemons only: on a shared engine it would take others' cache.
 * A prune leaves the records in use, and a build's may still be for a moment after its answer has
 * ended: once, in a full CI run, a build after a prune found its steps in the cache. So it prunes
 * again until none is in use.
 */
export async function forgetBuilds (docker: Docker, keep: string[] = ['busybox:latest']): Promise<void> {
  for (const image of await docker.listImages({ all: true })) {
    if ((image.RepoTags ?? []).some((tag) => keep.includes(tag))) continue
    await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined)
  }
  const deadline = Date.now() + CACHE_RELEASE_MS
  for (;;) {
    await docker.pruneBuilder({ all: true } as object)
    const { BuildCache } = (await docker.df()) as { BuildCache?: { ID: string; InUse: boolean; Description?: string }[] | null }
    const inUse = (BuildCache ?? []).filter((record) => record.InUse)
    if (inUse.length === 0) return
    if (Date.now() > deadline) throw new Error(`the engine still uses ${inUse.length} build cache records ${CACHE_RELEASE_MS / 1000} s after they were to go: ${inUse.map((record) => record.Description ?? record.ID).join('; ')}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** `docker save IMAGE | docker load`, between two engines, through the Engine API. */
export async function copyImage (from: Docker, to: Docker, image: string): Promise<void> {
  await from.getImage(image).inspect().catch((error: unknown) => {
    throw new Error(`${image} is not on the source engine (scripts/setup.sh builds it): ${String(error)}`)
  })
  const tar = await from.getImage(image).get()
  try {
    const answer = await to.loadImage(tar)
    await new Promise<void>((resolve, reject) =>
      to.modem.followProgress(answer, (error: Error | null, events: { error?: string }[]) => {
        const failed = error ?? events.find((event) => event.error)?.error
        if (failed) reject(new Error(`loading ${image}: ${String(failed)}`))
        else resolve()
      })
    )
  } finally {
    ;(tar as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.()
  }
  await to.getImage(image).inspect()
}

async function makeBridge (name: string): Promise<void> {
  const taken = await exec('ip', ['-4', '-o', 'addr', 'show']).then(
    ({ stdout }) => stdout,
    (error: unknown) => {
      throw new Error(`a test Docker daemon needs \`ip\` (iproute2) and root to make its bridge: ${String(error)}`)
    }
  )
  let subnet = ''
  for (let i = 0; i < 50 && !subnet; i++) {
    const candidate = `10.${randomInt(200, 255)}.${randomInt(0, 256)}`
    if (!taken.includes(` ${candidate}.`)) subnet = candidate
  }
  if (!subnet) throw new Error('no free 10.x.y.0/24 for a test bridge')
  await exec('ip', ['link', 'add', name, 'type', 'bridge'])
  await exec('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', name])
  await exec('ip', ['link', 'set', name, 'up'])
}

/**
 * SIGTERM, wait, SIGKILL; then whatever of it may be left (its containerd and shims, which name
 * its folder on their command lines; mounts under its data-root; its bridge), then its folder.
 */
async function stopDaemon (dir: string, bridge: string, child: ReturnType<typeof spawn> | undefined): Promise<void> {
  const pids = child?.pid !== undefined ? [child.pid] : []
  const fromFile = Number((await readFile(path.join(dir, 'docker.pid'), 'utf8').catch(() => '')).trim())
  if (fromFile && !pids.includes(fromFile)) pids.push(fromFile)
  for (const pid of pids) await terminate(pid, dir, 20_000)
  // A dockerd that had to be killed leaves its containerd (and any container's shim) running.
  for (const pid of await processesNaming(dir)) await terminate(pid, dir, 5000)
  await unmountUnder(dir)
  await exec('ip', ['link', 'del', bridge]).catch(() => undefined)
  if ((await mountsUnder(dir)).length > 0) {
    // Never delete through a mount into another filesystem.
    console.error(`test dockerd: ${dir} still has mounts; left in place`)
    return
  }
  await rm(dir, { recursive: true, force: true }).catch((error: unknown) => console.error(`test dockerd: removing ${dir}: ${String(error)}`))
}

/** Stops a process of this daemon (its command line names `dir`, so a reused pid is left alone). */
async function terminate (pid: number, dir: string, graceMs: number): Promise<void> {
  if (!(await commandLine(pid))?.includes(dir)) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  const deadline = Date.now() + graceMs
  while (isAlive(pid) && Date.now() < deadline) await sleep(100)
  if (!isAlive(pid)) return
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    return
  }
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100)
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  return true
}

async function commandLine (pid: number): Promise<string | null> {
  return readFile(`/proc/${pid}/cmdline`, 'utf8').then(
    (text) => text.replaceAll('\0', ' '),
    () => null
  )
}

async function processesNaming (dir: string): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    if ((await commandLine(Number(entry)))?.includes(`${dir}/`)) pids.push(Number(entry))
  }
  return pids
}

async function mountsUnder (dir: string): Promise<string[]> {
  const mounts = await readFile('/proc/self/mounts', 'utf8')
  return mounts
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' ') ?? '')
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length)
}

async function unmountUnder (dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    await exec('umount', [point]).catch(() => exec('umount', ['-l', point])).catch(() => undefined)
  }
}

async function tail (file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '')
  return text
    .split('\n')
    .slice(-25)
    .map((line) => `    | ${line}`)
    .join('\n')
}

/**
 * Daemons of test processes that died without their teardown (killed by a timeout, say): their
 * owner no longer runs. Stopped and removed, so they don't pile up. Live owners' are left alone.
 */
async function reapStale (): Promise<void> {
  const base = os.tmpdir()
  for (const entry of await readdir(base).catch(() => [] as string[])) {
    if (!entry.startsWith(DIR_PREFIX)) continue
    const dir = path.join(base, entry)
    const owner = Number((await readFile(path.join(dir, 'owner'), 'utf8').catch(() => '')).trim())
    if (!owner || isAlive(owner)) continue
    const bridge = (await readFile(path.join(dir, 'bridge'), 'utf8').catch(() => '')).trim()
    await stopDaemon(dir, /^slw[0-9a-f]{8}$/.test(bridge) ? bridge : 'slw-none', undefined)
  }
}
