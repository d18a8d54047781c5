import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { rootCertificates } from 'node:tls'
import { promisify } from 'node:util'
import t from 'tap'
import { packageRoot } from '../../src/package-info.js'
import { docker } from '../helpers/docker.js'

// Builds docker/Dockerfile with the real Docker Engine, as a user would, and checks that the
// image practises what Slipway preaches. The first build on a machine takes a few minutes (two
// npm installs, one apt install); later ones reuse the layer cache.
const BASE_IMAGE = 'node:20-bookworm-slim'
const SIZE_BOUND_BYTES = 180 * 1000 * 1000
const run = promisify(execFile)

// npm marks what only the dev dependencies need with "dev": true; none of it may ship.
const lock = JSON.parse(await readFile(path.join(packageRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
const devOnly = Object.entries(lock.packages).flatMap(([where, entry]) => (entry.dev ? [where] : []))

t.setTimeout(15 * 60 * 1000)

if (!(await docker.getImage(BASE_IMAGE).inspect().then(() => true, () => false))) {
  t.skip(`the base image ${BASE_IMAGE} is missing: scripts/setup.sh makes it on machines that cannot pull it`, () => {})
} else {
  const image = `slipway-test/image:${randomBytes(4).toString('hex')}`
  t.teardown(() => docker.getImage(image).remove({ force: true }).then(() => undefined, () => undefined))
  await build(image)
  const info = await docker.getImage(image).inspect()

  t.test('runs as a numeric non-root user', async (t) => {
    t.match(info.Config.User, /^[1-9]\d*:\d+$/)
    t.equal((await inContainer(image, ['id', '-u'])).trim(), info.Config.User.split(':')[0])
  })

  t.test('holds no dev dependencies, sources, tests or build tools', async (t) => {
    t.ok(devOnly.includes('node_modules/typescript'), 'the check knows what a dev dependency looks like')
    const present = await inContainer(image, ['sh', '-c', 'cd /app && for where; do [ ! -e "$where" ] || echo "$where"; done', 'sh', ...devOnly])
    t.equal(present, '', `none of the ${devOnly.length} packages only dev dependencies need`)

    const files = (await inContainer(image, ['find', '/app', '-path', '/app/node_modules', '-prune', '-o', '-type', 'f', '-print'])).trim().split('\n')
    t.ok(files.includes('/app/dist/src/server.js'), 'the compiled server is there')
    t.same(files.filter((file) => file !== '/app/package.json' && !/^\/app\/(dist\/(src|workers)|src\/portal)\/.+\.js$/.test(file) && !/^\/app\/src\/portal\/.+\.(html|css)$/.test(file) && !/^\/app\/src\/storage\/commands\/[A-Za-z]+(-\d+)?\.lua$/.test(file)), [], 'only compiled JavaScript, the portal\'s files, the Lua scripts and package.json')
    t.ok(files.includes('/app/src/storage/commands/transitionBuild-2.lua'), 'the Lua scripts are there')
    t.equal((await inContainer(image, ['find', '/app/node_modules', '-name', '*.ts', '-o', '-name', '*.map'])).trim(), '', 'no types or maps in node_modules')

    const tools = await inContainer(image, ['sh', '-c', 'for tool in npm npx tsc apt-get dpkg gcc cc make perl; do command -v "$tool" || true; done'])
    t.equal(tools.trim(), '', 'no package manager, compiler or perl')
  })

  t.test('has what the worker runs: git and ssh', async (t) => {
    t.match(await inContainer(image, ['git', '--version']), /^git version 2\./)
    // Local clones and `git submodule` go through the shell and git's own scripts.
    const submodules = [
      'set -e; cd /tmp; export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t',
      'git init -q sub; echo inside >sub/file; git -C sub add file; git -C sub commit -qm sub',
      'git init -q top; git -C top -c protocol.file.allow=always submodule add -q /tmp/sub sub; git -C top commit -qm top',
      'git -c protocol.file.allow=always clone -q file:///tmp/top copy; cd copy',
      'git submodule init -q; git -c protocol.file.allow=always submodule update -q --depth=1 --; cat sub/file'
    ].join('\n')
    t.equal(await inContainer(image, ['sh', '-c', submodules]), 'inside\n')
    t.match(await inContainer(image, ['sh', '-c', 'ssh -V 2>&1']), /OpenSSH/)
  })

  t.test('a bad setting stops the server with the config error', async (t) => {
    const failed = (await run('docker', ['run', '--rm', '-e', 'SLIPWAY_PORT=abc', image]).then(
      () => null,
      (error: unknown) => error
    )) as { code: number; stderr: string } | null
    t.equal(failed?.code, 2, 'exit code 2')
    t.match(failed?.stderr, 'SLIPWAY_PORT="abc": must be a whole number from 0 to 65535')
  })

  t.test(`is smaller than ${SIZE_BOUND_BYTES / 1e6} MB`, async (t) => {
    t.ok(info.Size < SIZE_BOUND_BYTES, `${(info.Size / 1e6).toFixed(1)} MB`)
  })
}

/** `docker build -f docker/Dockerfile .` from the repository root, as the README says. */
async function build (tag: string): Promise<void> {
  const args = ['build', '-q', '-f', 'docker/Dockerfile', '-t', tag]
  // npm in the build must trust what this machine's Node trusts beyond its own CAs: a proxy's.
  const extra = await extraCaCerts()
  if (extra) args.push('--build-arg', 'EXTRA_CA_CERTS')
  const child = spawn('docker', [...args, '.'], { cwd: packageRoot, env: { ...process.env, EXTRA_CA_CERTS: extra }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`docker build failed (${code}):\n${output.slice(-4000)}`)
}

/** The certificates in NODE_EXTRA_CA_CERTS that Node does not ship with (empty when unset). */
async function extraCaCerts (): Promise<string> {
  const file = process.env.NODE_EXTRA_CA_CERTS
  if (!file) return ''
  const own = new Set(rootCertificates.map((pem) => pem.replace(/\s+/g, '')))
  const pems = (await readFile(file, 'utf8')).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  return pems.filter((pem) => !own.has(pem.replace(/\s+/g, ''))).join('\n')
}

/** Runs a command in a fresh container of the image (past its entrypoint) and returns stdout. */
async function inContainer (image: string, command: string[]): Promise<string> {
  const [entrypoint, ...args] = command as [string, ...string[]]
  const { stdout } = await run('docker', ['run', '--rm', '--entrypoint', entrypoint, image, ...args])
  return stdout
}
