import { execFile } from 'node:child_process'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createGunzip } from 'node:zlib'
import t from 'tap'
import { EXIT } from '../../src/cli/exit-codes.js'
import { packageRoot } from '../../src/package-info.js'
import { readTar, tempFolder } from '../helpers/files.js'
import { sampleBuild } from '../helpers/fixtures.js'

// `submit --dir` against the upload contract (POST /v1/builds, Content-Type application/gzip, the
// options as JSON in the `options` query parameter; 413 UPLOAD_TOO_LARGE when too big), checked
// with a receiver that records what arrives, as test/helpers/webhook-receiver.ts does for
// webhooks. The server side of uploads is built on another branch; once merged, a test against
// the real API replaces this one.

const loader = process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'))

interface Upload {
  path: string
  contentType: string | undefined
  options: unknown
  entries: string[]
}

async function entriesOf(request: IncomingMessage): Promise<string[]> {
  return (await readTar(request.pipe(createGunzip()))).map((entry) => entry.header.name).sort()
}

t.test('submit --dir uploads the folder as a gzipped tar with the options as JSON; a refused upload shows its code', async (t) => {
  const uploads: Upload[] = []
  const server = createServer((request, response) => {
    void entriesOf(request).then((entries) => {
      const url = new URL(request.url!, 'http://receiver')
      const options = JSON.parse(url.searchParams.get('options') ?? 'null') as { image?: string }
      uploads.push({ path: url.pathname, contentType: request.headers['content-type'], options, entries })
      const [status, body] =
        options.image === 'too/big'
          ? [413, { statusCode: 413, code: 'UPLOAD_TOO_LARGE', error: 'Payload Too Large', message: 'The upload is larger than 1 GB.' }]
          : [202, sampleBuild('01JD7Z0000000000000000000A')]
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))

  const dir = await tempFolder(t, { 'app/Dockerfile': 'FROM busybox\n', 'app/main.sh': 'echo hi\n', '.dockerignore': '*.log\n', 'debug.log': 'x', '.git/HEAD': 'x' })
  const env = { PATH: process.env.PATH!, SLIPWAY_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, SLIPWAY_TOKEN: 'slw_test' }
  const cli = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [...loader, path.join(packageRoot, 'src', 'cli.ts'), ...args], { env }, (error, stdout, stderr) =>
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr })
      )
    })

  const sent = await cli('submit', '--dir', dir, '--context', 'app', '--build-arg', 'A=1', '--tag', 't1', '--no-push')
  t.equal(sent.code, EXIT.ok, sent.stderr)
  t.equal(sent.stdout, '01JD7Z0000000000000000000A\n', "the answer's build id")
  t.match(sent.stderr, /uploading .*: 3 files, 27 B before compression/)
  t.match(uploads[0], {
    path: '/v1/builds',
    contentType: 'application/gzip',
    options: { context: 'app', buildArgs: { A: '1' }, tags: ['t1'], push: false },
    entries: ['.dockerignore', 'app', 'app/Dockerfile', 'app/main.sh']
  })
  t.notOk('repo' in (uploads[0]!.options as object), 'no repo in the options: the upload is the source')

  const refused = await cli('submit', '--dir', dir, '--image', 'too/big')
  t.equal(refused.code, EXIT.rejected)
  t.match(refused.stderr, /^slipway: UPLOAD_TOO_LARGE: The upload is larger than 1 GB\.$/m)

  const misplaced = await cli('submit', '--dir', dir, '--ref', 'main')
  t.equal(misplaced.code, EXIT.usage)
  t.match(misplaced.stderr, /--ref is for --repo only/)
})
