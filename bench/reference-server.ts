// The reference for the POST figures: a bare Fastify server in a process of its own, answering
// POST /v1/builds with a build resource Slipway made, and nothing else
// (no auth, no validation, no Redis, no logging). What Fastify alone does on this machine.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import type { Build } from '../src/domain/schemas/build.js'
import { freePort } from '../test/helpers/ports.js'
import type { Teardown } from '../test/helpers/teardown.js'

const READY = 'reference server listening'
const here = fileURLToPath(import.meta.url)

/** Starts the reference server answering with `build`; its base URL. Stopped at teardown. */
export async function startReferenceServer (scope: Teardown, build: Build): Promise<string> {
  const port = await freePort()
  const child = spawn(process.execPath, [here], {
    env: { ...process.env, BENCH_PORT: String(port), BENCH_BUILD: JSON.stringify(build) },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const exited = once(child, 'exit')
  scope.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  })
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => chunk.includes(READY) && resolve())
    child.on('exit', (code) => reject(new Error(`the reference server exited with ${code} before listening`)))
  })
  return `http://127.0.0.1:${port}`
}

async function serve (port: number, build: Build): Promise<void> {
  const app = Fastify()
  app.post('/v1/builds', async (_request, reply) => reply.code(202).header('location', build.links.self).send(build))
  await app.listen({ host: '127.0.0.1', port })
  process.stdout.write(`${READY}\n`)
  process.once('SIGTERM', () => { void app.close() })
}

if (process.argv[1] === here) await serve(Number(process.env.BENCH_PORT), JSON.parse(process.env.BENCH_BUILD ?? '') as Build)
