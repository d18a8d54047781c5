import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { tempFolder } from './files.js'
import { freePort } from './ports.js'
import type { Teardown } from './teardown.js'

/**
 * A Redis of the test's own, persisting to an append-only file as production does, so it can be
 * stopped and started again with its data: the outage a fault test needs without touching the
 * machine's shared Redis.
 */
export async function startRedisServer (t: Teardown) {
  // Removed after the server stops: teardowns run last registered first.
  const dir = await tempFolder(t, {}, 'slipway-redis-')
  const port = await freePort()
  let child: ChildProcess | undefined

  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], {
      stdio: 'ignore'
    })
    for (let i = 0; i < 100; i++) {
      const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
      // Refused while it starts, LOADING while it reads its append-only file: both mean not yet.
      probe.on('error', () => undefined)
      const ok = await probe
        .connect()
        .then(() => probe.ping())
        .catch(() => null)
      probe.disconnect()
      if (ok === 'PONG') return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`redis-server on port ${port} did not start`)
  }
  const stop = async () => {
    if (!child || child.exitCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  }
  await start()
  t.teardown(stop)
  return { url: `redis://127.0.0.1:${port}`, start, stop }
}
