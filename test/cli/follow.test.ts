import { spawn } from 'node:child_process'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { EXIT } from '../../src/cli/exit-codes.js'
import { packageRoot } from '../../src/package-info.js'
import { TEST_ADMIN_TOKEN, testConfig } from '../helpers/config.js'
import { createRepo } from '../helpers/git-repo.js'
import { freePort } from '../helpers/ports.js'
import { isAlive, startSlipwayProcess } from '../helpers/processes.js'

const loader = process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'))

t.test('submit --follow rides out an API restart: the stream resumes after the last line, none lost or repeated', async (t) => {
  const config = testConfig(t, { port: await freePort() })
  const first = await startSlipwayProcess(t, config, 'api')
  await startSlipwayProcess(t, config, 'worker')
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN for i in $(seq 1 10); do echo "line $i"; sleep 1; done\n' })

  const child = spawn(process.execPath, [...loader, path.join(packageRoot, 'src', 'cli.ts'), 'submit', '--repo', repo.url, '--no-cache', '--follow'], {
    env: { PATH: process.env.PATH!, SLIPWAY_URL: `http://127.0.0.1:${config.port}`, SLIPWAY_TOKEN: TEST_ADMIN_TOKEN },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { child.kill() })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))

  while (!/line 2$/m.test(stdout)) {
    if (child.exitCode !== null) throw new Error(`slipway ended early:\n${stdout}\n${stderr}`)
    await sleep(100)
  }
  // The API goes away mid-build and another takes its place on the same address.
  first.kill('SIGTERM')
  while (isAlive(first.pid)) await sleep(100)
  await startSlipwayProcess(t, config, 'api')

  t.equal(await exited, EXIT.ok, stderr)
  const lines = [...stdout.matchAll(/^#\d+ line (\d+)$/gm)].map((match) => match[1])
  t.same(lines, ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'], 'every line once, in order')
  t.match(stdout, /^Build \w+ succeeded/m)
})
