import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { EXIT } from '../../src/cli/exit-codes.js'
import { packageRoot } from '../../src/package-info.js'
import type { Build } from '../../src/domain/schemas/build.js'
import { TEST_ADMIN_TOKEN } from '../helpers/config.js'
import { tempFolder } from '../helpers/files.js'
import { createRepo } from '../helpers/git-repo.js'
import { freePort } from '../helpers/ports.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// A CI job as a new user writes it: the compiled `slipway` command (what `npm run build` makes and
// package.json's bin names), a server URL and a token, nothing else, against a real Slipway (API,
// worker, Redis, Docker, a registry).

await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: packageRoot })
const BIN = path.join(packageRoot, 'dist', 'src', 'cli.js')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** The CLI as a child process with only PATH and `env`; `waitFor` watches its output as it comes. */
function start (env: Record<string, string>, args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH!, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill() })
  const run: Run = { code: null, stdout: '', stderr: '' }
  const watchers: (() => void)[] = []
  for (const name of ['stdout', 'stderr'] as const) {
    child[name].setEncoding('utf8').on('data', (chunk: string) => {
      run[name] += chunk
      for (const watcher of watchers) watcher()
    })
  }
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ ...run, code })))
  return {
    done,
    /** Resolves with the match once the output so far matches `pattern`. */
    waitFor: (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const found = pattern.exec(run.stdout + run.stderr)
          if (found) resolve(found)
        }
        watchers.push(check)
        check()
        void done.then(() => reject(new Error(`slipway ${args.join(' ')} ended without printing ${pattern}:\n${run.stdout}\n${run.stderr}`)))
      })
  }
}

// The upload limit is set low enough for one test to pass it; the other uploads are far below it.
const slipway = await startSlipway(t, { uploadMaxBytes: 64 * 1024 })
const url = await slipway.listen()
const registry = await startRegistry(t)
const image = `${registry.host}/cli/app`

// The admin makes the CI's token with the CLI, over the API; from here on the job has only that.
const made = await start({ SLIPWAY_URL: url, SLIPWAY_TOKEN: TEST_ADMIN_TOKEN }, ['token', 'create', '--name', 'ci', '--scopes', 'builds:read,builds:write']).done
const ciEnv = { SLIPWAY_URL: url, SLIPWAY_TOKEN: made.stdout.trim() }
const slipwayCli = (...args: string[]) => start(ciEnv, args).done

t.test('token create over the API prints the token once; list shows it without the token', async (t) => {
  t.equal(made.code, EXIT.ok, made.stderr)
  t.match(made.stdout, /^slw_\S+\n$/)
  t.match(made.stderr, /"ci" \(builds:read, builds:write\): keep it now/)
  const listed = await start({ SLIPWAY_URL: url, SLIPWAY_TOKEN: TEST_ADMIN_TOKEN }, ['token', 'list', '--json']).done
  t.match(JSON.parse(listed.stdout), { items: [{ name: 'ci', scopes: ['builds:read', 'builds:write'] }] })
  t.notMatch(listed.stdout, made.stdout.trim())
})

t.test('token create --push-allow limits where the token pushes; a bad pattern is named before anything is made', async (t) => {
  const admin = { SLIPWAY_URL: url, SLIPWAY_TOKEN: TEST_ADMIN_TOKEN }
  const limited = await start(admin, ['token', 'create', '--name', 'team-a', '--scopes', 'builds:write', '--push-allow', `${registry.host}/team-a/*`, '--json']).done
  t.equal(limited.code, EXIT.ok, limited.stderr)
  t.match(JSON.parse(limited.stdout), { name: 'team-a', pushAllow: [`${registry.host}/team-a/*`] })
  const refused = await start({ SLIPWAY_URL: url, SLIPWAY_TOKEN: JSON.parse(limited.stdout).token }, ['submit', '--repo', 'https://git.example.com/b.git', '--image', `${registry.host}/team-b/app`]).done
  t.equal(refused.code, EXIT.unauthorized)
  t.match(refused.stderr, /^slipway: IMAGE_NOT_ALLOWED: Token 'team-a' may not push to/)
  const bad = await start(admin, ['token', 'create', '--name', 'x', '--scopes', 'builds:write', '--push-allow', 'team-a/*']).done
  t.equal(bad.code, EXIT.usage)
  t.match(bad.stderr, /--push-allow: 'team-a\/\*' does not start with a registry host/)
})

t.test('submit --follow builds, streams the log, prints digest and size, exits 0; status, logs agree', async (t) => {
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo "hello from the build" > /hello\nCOPY . /app\n', 'node_modules/left-pad/index.js': 'module.exports = pad\n' })
  const run = await slipwayCli('submit', '--repo', repo.url, '--image', image, '--tag', 'v1', '--label', 'team=ci', '--follow')
  t.equal(run.code, EXIT.ok, run.stderr)
  const id = /build (\w{26}) queued/.exec(run.stderr)?.[1]
  t.ok(id, 'the build is named on stderr')
  t.match(run.stdout, /^==> clone\n/m, 'plain lines when stdout is not a terminal')
  t.notMatch(run.stdout, /\x1b/, 'with no terminal codes')
  t.match(run.stdout, /hello from the build/, "the build's own output")
  t.match(run.stdout, new RegExp(`^Build ${id} succeeded in `, 'm'))
  t.match(run.stdout, new RegExp(`image    ${image}:v1 \\(pushed\\)`))
  const digest = /digest {3}(sha256:[0-9a-f]{64})/.exec(run.stdout)?.[1]
  t.ok(digest, 'the digest is printed')
  t.match(run.stdout, /size {5}[\d.]+ [kM]B \(/)
  t.match(run.stdout, /advisor {2}\d+ findings?; the largest: no-dockerignore/, "the advisor's largest finding")

  const status = await slipwayCli('status', id!, '--json')
  const build = JSON.parse(status.stdout) as Build
  t.match(build, { id, status: 'succeeded', request: { labels: { team: 'ci' } }, image: { digest } }, "status --json is the API's build")
  t.equal(build.image?.findings[0]?.rule, 'no-dockerignore')
  t.match((await slipwayCli('status', id!)).stdout, `digest   ${digest}`)
  t.match((await slipwayCli('logs', id!)).stdout, /hello from the build/)
  const events = (await slipwayCli('logs', '-f', '--json', id!)).stdout.trim().split('\n').map((line) => JSON.parse(line) as { event: string; data: { text?: string } })
  t.ok(events.some((event) => event.event === 'log' && event.data.text?.includes('hello from the build')), 'logs -f --json: one JSON line per event')
  t.match(events.at(-1), { event: 'end', data: { id, status: 'succeeded' } })

  // The next commit changes a file the COPY reads (to content no engine has built before): the end
  // of --follow and status say so.
  await repo.commit({ 'node_modules/left-pad/index.js': `module.exports = pad // ${randomBytes(6).toString('hex')}\n` })
  const next = await slipwayCli('submit', '--repo', repo.url, '--image', image, '--tag', 'v2', '--follow')
  t.equal(next.code, EXIT.ok, next.stderr)
  const cacheLines = /^ {2}cache {4}1 of 2 steps \(50%\)\n {11}line 3 COPY \. \/app rebuilt: node_modules\/left-pad\/index\.js changed; nothing after it rebuilt$/m
  t.match(next.stdout, cacheLines, 'the end of --follow: the hit rate and the first miss with its reason')
  const nextId = /build (\w{26}) queued/.exec(next.stderr)?.[1]
  t.match((await slipwayCli('status', nextId!)).stdout, cacheLines, 'status: the same')
})

t.test('a broken Dockerfile exits with the build-failure code and says why; retry --follow --json fails the same way', async (t) => {
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo about to fail && exit 3\n' })
  const run = await slipwayCli('submit', '--repo', repo.url, '--follow')
  t.equal(run.code, EXIT.buildFailed)
  t.match(run.stdout, /about to fail/)
  t.match(run.stdout, /error {4}BUILD_STEP_FAILED in build: .*failed with exit code 3/)
  const id = /build (\w{26}) queued/.exec(run.stderr)![1]!

  const retried = await slipwayCli('retry', id, '--follow', '--json')
  t.equal(retried.code, EXIT.buildFailed)
  t.match(JSON.parse(retried.stdout), { status: 'failed', retryOf: id, error: { code: 'BUILD_STEP_FAILED' } }, 'with --json, stdout is the ended build')
  t.match(retried.stderr, /about to fail/, 'and the progress goes to stderr')
})

t.test('a build canceled while followed exits with the cancel code; one over its time limit with the timeout code', async (t) => {
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo sleeping && sleep 120\n' })
  const following = start(ciEnv, ['submit', '--repo', repo.url, '--no-cache', '--follow'])
  const id = (await following.waitFor(/build (\w{26}) queued/))[1]!
  await following.waitFor(/sleeping$/m)
  const canceled = await slipwayCli('cancel', id)
  t.equal(canceled.code, EXIT.ok, canceled.stderr)
  t.match(canceled.stdout, new RegExp(`^Build ${id} (canceled|cancel requested)`))
  const ended = await following.done
  t.equal(ended.code, EXIT.canceled)
  t.match(ended.stdout, new RegExp(`Build ${id} canceled`))

  const again = await slipwayCli('cancel', id)
  t.equal(again.code, EXIT.rejected, 'an ended build cannot be canceled')
  t.match(again.stderr, /^slipway: BUILD_FINISHED: /)

  const timedOut = await slipwayCli('submit', '--repo', repo.url, '--no-cache', '--timeout', '3s', '--follow')
  t.equal(timedOut.code, EXIT.timedOut)
  t.match(timedOut.stdout, /timed out after/)
})

// What a terminal would act on: escape sequences start with ESC or a C1 control; C0 controls move
// the cursor (CR, BS) or ring. Tab and newline are text.
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/

t.test("a build's escape sequences never reach the terminal: logs, follow, status, errors, --json", async (t) => {
  // A log that writes the clipboard (OSC 52), sets the title, hides a link (OSC 8), moves the
  // cursor up and erases a line, and clears the screen with a C1 CSI; then a step whose own text
  // (which the failure message quotes) holds a title change.
  const repo = await createRepo(t, {
    Dockerfile: [
      'FROM busybox',
      "RUN printf 'clip \\033]52;c;cHduZWQ=\\007 title \\033]0;owned\\033\\\\ link \\033]8;;http://evil.example/\\007click\\033]8;;\\007 up \\033[1A\\033[2K erased \\302\\2332J c1-csi\\n'",
      'RUN echo "\u001b]0;failing-title\u0007 about to fail" && exit 3',
      ''
    ].join('\n')
  })
  // The build needs no network: --network none takes it away.
  const followed = await slipwayCli('submit', '--repo', repo.url, '--no-cache', '--network', 'none', '--follow')
  t.equal(followed.code, EXIT.buildFailed, followed.stderr)
  const id = /build (\w{26}) queued/.exec(followed.stderr)![1]!
  t.match(followed.stdout, /clip +title +link click up +erased +c1-csi/, 'the text around the sequences stays')
  t.match(followed.stdout, /error {4}BUILD_STEP_FAILED in build: .*about to fail/)

  const printed = { followed, logs: await slipwayCli('logs', id), again: await slipwayCli('logs', '-f', id), status: await slipwayCli('status', id) }
  for (const [what, run] of Object.entries(printed)) {
    t.notMatch(run.stdout + run.stderr, TERMINAL_CONTROL, `${what}: no control character but tab and newline`)
    t.match(run.stdout, what === 'status' ? /about to fail/ : /c1-csi/, `${what}: the text is there`)
  }
  for (const args of [['status', id, '--json'], ['logs', '-f', '--json', id]]) {
    const run = await slipwayCli(...args)
    t.notMatch(run.stdout, TERMINAL_CONTROL, `${args.join(' ')}: JSON escapes every control character`)
    for (const line of run.stdout.trim().split('\n')) JSON.parse(line)
  }
  const json = JSON.parse((await slipwayCli('status', id, '--json')).stdout) as Build
  t.match(json.error?.message, /\u001b\]0;failing-title\u0007/, '--json keeps the text as the API has it')
  t.equal(json.request.network, 'none')
})

t.test('usage, connection, rejection and authorization errors each have their code and say what to do', async (t) => {
  const bogus = await slipwayCli('submit', '--repo', 'https://example.com/a.git', '--bogus')
  t.equal(bogus.code, EXIT.usage)
  t.match(bogus.stderr, /Unknown option '--bogus' for slipway submit/)
  t.equal((await slipwayCli('submit')).code, EXIT.usage, 'neither --repo nor --dir')
  t.equal((await slipwayCli('frobnicate')).code, EXIT.usage)
  t.equal((await start({}, ['status', '01JD7Z0000000000000000000A']).done).code, EXIT.usage, 'no SLIPWAY_URL')

  const nowhere = await start({ ...ciEnv, SLIPWAY_URL: `http://127.0.0.1:${await freePort()}` }, ['status', '01JD7Z0000000000000000000A']).done
  t.equal(nowhere.code, EXIT.unreachable)
  t.match(nowhere.stderr, /cannot reach Slipway at http:\/\/127\.0\.0\.1:\d+\/: ECONNREFUSED/)

  const invalid = await slipwayCli('submit', '--repo', 'ftp://example.com/app.git')
  t.equal(invalid.code, EXIT.rejected)
  t.match(invalid.stderr, /^slipway: REPO_URL_INVALID: /)
  const notFound = await slipwayCli('status', '01JD7Z0000000000000000000A')
  t.equal(notFound.code, EXIT.rejected)
  t.match(notFound.stderr, /^slipway: BUILD_NOT_FOUND: No build has the id/)

  const unknownToken = await start({ ...ciEnv, SLIPWAY_TOKEN: 'slw_not-a-token' }, ['status', '01JD7Z0000000000000000000A']).done
  t.equal(unknownToken.code, EXIT.unauthorized)
  t.match(unknownToken.stderr, /^slipway: UNAUTHENTICATED: The token is not known/)
  const noScope = await slipwayCli('token', 'create', '--name', 'x', '--scopes', 'admin')
  t.equal(noScope.code, EXIT.unauthorized, 'a CI token cannot make tokens')
  t.match(noScope.stderr, /^slipway: FORBIDDEN: This token lacks the scope 'admin'/)
})

t.test('submit --dir uploads the checkout: .dockerignore and .git left out, built and pushed; too big an upload says so', async (t) => {
  const dir = await tempFolder(t, {
    'app/Dockerfile': 'FROM busybox\nCOPY . /app\nRUN ls -a /app > /listing && cat /listing\n',
    'app/main.sh': 'echo hi\n',
    'app/debug.log': 'not wanted\n',
    'app/.dockerignore': '*.log\n',
    '.git/HEAD': 'ref: refs/heads/main\n'
  })
  // No cache: the listing is printed only by a step that runs.
  const run = await slipwayCli('submit', '--dir', dir, '--context', 'app', '--image', image, '--tag', 'from-dir', '--no-cache', '--follow')
  t.equal(run.code, EXIT.ok, run.stderr)
  t.match(run.stderr, /uploading .*: \d+ files/)
  t.match(run.stdout, /^==> unpack\n/m, 'the upload takes the place of the clone')
  t.match(run.stdout, /main\.sh/, 'the file is in the image')
  t.notMatch(run.stdout, /debug\.log/, ".dockerignore'd files never left the machine")
  t.match(run.stdout, new RegExp(`image    ${image}:from-dir \\(pushed\\)`))
  t.match(run.stdout, /digest {3}sha256:[0-9a-f]{64}/)
  t.match(run.stdout, /source {3}upload [0-9a-f]{12} \([\d.]+ k?B\)/, 'the upload is named where a repository would be')

  const big = await tempFolder(t, { Dockerfile: 'FROM busybox\n', 'noise.bin': randomBytes(200 * 1024).toString('base64') })
  const refused = await slipwayCli('submit', '--dir', big)
  t.equal(refused.code, EXIT.rejected, refused.stderr)
  t.match(refused.stderr, /^slipway: UPLOAD_TOO_LARGE: /m)

  const misplaced = await slipwayCli('submit', '--dir', dir, '--ref', 'main')
  t.equal(misplaced.code, EXIT.usage)
  t.match(misplaced.stderr, /--ref is for --repo only/)
})
