import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { Teardown } from './helpers/teardown.js'

// The processes' log output (src/log-output.ts) holds lines back to write them in batches; none
// may be lost at exit, nor wait long on a quiet process.

const logOutput = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'log-output.ts')
const loader = process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'))

/**
 * A node process logging through createLogOutput, then running `after`; its standard output as it
 * comes. Its standard error goes to the test's, unless the test reads it (`readStderr`).
 */
function logger (t: Teardown, after: string, readStderr = false) {
  const code = `
    const { pino } = await import('pino')
    const { createLogOutput } = await import(${JSON.stringify(logOutput)})
    const log = pino(createLogOutput())
    for (let i = 0; i < 3; i++) log.info({ i }, 'line')
    ${after}`
  const child = spawn(process.execPath, [...loader, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] })
  if (!readStderr) child.stderr.pipe(process.stderr)
  t.teardown(() => child.kill('SIGKILL'))
  return child
}

// Whole lines only: a chunk may end inside one.
const linesIn = (output: string) => output.split('\n').slice(0, -1).map((line) => (JSON.parse(line) as { i: number }).i)

t.test('lines still held back when the process exits are written', async (t) => {
  const child = logger(t, 'process.exit(0)')
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  await new Promise((resolve) => child.on('close', resolve))
  t.same(linesIn(output), [0, 1, 2])
})

t.test('lines on a quiet process are written while it runs', async (t) => {
  const child = logger(t, 'setTimeout(() => {}, 30_000)')
  let output = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      if (linesIn(output).length === 3) resolve()
    })
    setTimeout(() => reject(new Error(`after 5 s, only this was written: ${output}`)), 5000).unref()
  })
  t.same(linesIn(output), [0, 1, 2])
})

t.test('a quiet process writes nothing: no empty writes while no line waits', async (t) => {
  // Counted in the child: an empty write reaches no reader, so only the calls show it.
  const child = logger(t, `
    const fs = (await import('node:fs')).default
    await new Promise((resolve) => setTimeout(resolve, 500))
    let writes = 0
    const writeSync = fs.writeSync
    fs.writeSync = (...args) => { writes++; return writeSync.apply(fs, args) }
    await new Promise((resolve) => setTimeout(resolve, 1000))
    log.info({ i: 3 }, 'line')
    await new Promise((resolve) => setTimeout(resolve, 500))
    process.stderr.write(JSON.stringify({ writes }) + '\\n')
    process.exit(0)`, true)
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  let report = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (report += chunk))
  await new Promise((resolve) => child.on('close', resolve))
  t.same(linesIn(output), [0, 1, 2, 3])
  t.same(JSON.parse(report), { writes: 1 }, 'in 1.5 s, one write: the line logged in it')
})
