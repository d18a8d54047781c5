import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { tempFolder } from './files.js'
import { freePort } from './ports.js'
import type { Teardown } from './teardown.js'

const exec = promisify(execFile)

export interface TestRegistry {
  /** host:port, as an image name starts: localhost:PORT/team/app */
  host: string
  credentials?: { username: string; password: string }
  /** Writes a Docker config.json holding this registry's credentials; returns its path. */
  writeDockerConfig(): Promise<string>
  /** Takes the registry away (connections refused) and brings it back with its storage. */
  stop(): Promise<void>
  start(): Promise<void>
}

/**
 * A real registry (Distribution, `docker-registry serve`) on a free loopback port with its own
 * storage, optionally behind htpasswd auth; stopped and removed when the test ends.
 */
export async function startRegistry (t: Teardown, options: { username?: string; password?: string } = {}): Promise<TestRegistry> {
  // Removed after the registry stops: teardowns run last registered first.
  const dir = await tempFolder(t, {}, 'slipway-registry-')
  const port = await freePort()
  const auth = options.username && options.password ? { username: options.username, password: options.password } : undefined
  let authSection = ''
  if (auth) {
    const { stdout } = await exec('htpasswd', ['-Bbn', auth.username, auth.password])
    await writeFile(path.join(dir, 'htpasswd'), stdout)
    authSection = `auth:\n  htpasswd:\n    realm: slipway-test\n    path: ${path.join(dir, 'htpasswd')}\n`
  }
  const config = path.join(dir, 'config.yml')
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'data')}\n  delete:\n    enabled: true\n` +
      `http:\n  addr: 127.0.0.1:${port}\n  secret: slipway-test\n${authSection}`
  )
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' })
    await waitForRegistry(port)
  }
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill()
    await exited
  }
  t.teardown(stop)
  await start()
  const host = `localhost:${port}`
  return {
    host,
    start,
    stop,
    ...(auth ? { credentials: auth } : {}),
    async writeDockerConfig () {
      const file = path.join(dir, 'docker-config.json')
      const auths = auth ? { [host]: { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } } : {}
      await writeFile(file, JSON.stringify({ auths }))
      return file
    }
  }
}

async function waitForRegistry (port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const status = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.status, () => 0)
    if (status === 200 || status === 401) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`The test registry on port ${port} did not start; is docker-registry installed (scripts/setup.sh)?`)
}
