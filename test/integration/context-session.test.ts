import { createHash, randomUUID } from 'node:crypto'
import { chmod, symlink } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { docker } from '../helpers/docker.js'
import { buildDirect } from '../helpers/direct-build.js'
import { createRepo } from '../helpers/git-repo.js'
import { startSlipway } from '../helpers/slipway.js'

// BuildKit reads a build's context through the build's session, file by file (session-files.ts),
// where the classic builder takes a tar. Both must see the same context.

// Every entry under /ctx as "M: path mode type size", then the big file's hash: printed by the
// build's last step, so the log carries what the builder saw.
const MANIFEST = 'RUN cd /ctx && find . -mindepth 1 | sort | while read -r f; do echo "M: $f $(stat -c \'%a %F %s\' "$f")"; done && echo "M: $(sha256sum data/big.bin)"'

/** The manifest lines of a build's log, whichever builder's prefixes they carry. */
const manifest = (log: string) => [...log.matchAll(/M: (.*)$/gm)].map((match) => match[1]!.trim())

t.test('BuildKit through the session sees the context the classic builder sees in its tar', async (t) => {
  const slipway = await startSlipway(t)
  const big = Buffer.alloc(100 * 1024)
  // Printable bytes, as the repository helper writes text; a pattern no piece repeats on its boundary.
  for (let i = 0; i < big.length; i++) big[i] = 32 + ((i * 7919) % 95)
  const repo = await createRepo(t, {
    Dockerfile: `FROM busybox\nCOPY . /ctx\n${MANIFEST} && echo ${randomUUID()}\n`,
    '.dockerignore': 'node_modules\n*.log\ndocs\n!docs/keep.md\n',
    'run.sh': '#!/bin/sh\necho run\n',
    'src/app/main.js': 'console.log(1)\n',
    'src/a-b.txt': 'a-b\n',
    'src/a.b.txt': 'a.b\n',
    'node_modules/m/index.js': 'module.exports = 1\n',
    'debug.log': 'noise\n',
    'docs/guide.md': 'guide\n',
    'docs/keep.md': 'keep\n',
    'data/big.bin': big.toString('latin1')
  })
  await chmod(path.join(repo.dir, 'run.sh'), 0o755)
  await symlink('data', path.join(repo.dir, 'current'))
  await repo.commit({}, 'an executable and a symlink')

  const seen: Record<string, string[]> = {}
  for (const builder of ['classic', 'buildkit'] as const) {
    const build = await slipway.build({ repo: repo.url, builder, force: true })
    t.equal(build.status, 'succeeded', `${builder}: ${JSON.stringify(build.error)}`)
    seen[builder] = manifest(await slipway.logs(build.id))
  }
  const lines = seen.buildkit!
  t.ok(lines.includes('./run.sh 755 regular file 19'), 'an executable keeps its mode')
  t.ok(lines.includes('./current 777 symbolic link 4'), 'a symlink stays a link')
  t.ok(lines.includes('./docs/keep.md 644 regular file 5'), 'an exception of .dockerignore is sent, with its folder')
  t.notOk(lines.some((line) => /node_modules|debug\.log|guide\.md/.test(line)), 'what .dockerignore excludes is not')
  t.ok(lines.includes(`M: ${createHash('sha256').update(big).digest('hex')}  data/big.bin`.slice(3)), 'a file of many pieces arrives whole')
  t.same(lines, seen.classic, 'the classic builder saw the very same entries')
})

t.test('a symlink out of the repository reads nothing of the worker\'s host', async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nCOPY escape/hostname /leak\nCOPY climb/etc/hostname /leak2\n' })
  await symlink('/etc', path.join(repo.dir, 'escape'))
  await symlink('../../../../../../..', path.join(repo.dir, 'climb'))
  await repo.commit({}, 'links out')
  const build = await slipway.build({ repo: repo.url, builder: 'buildkit' })
  t.equal(build.status, 'failed', 'the COPY finds nothing to copy')
  t.match(build.error?.message, /not found|no such file/i)
})

t.test('an engine that kept the context is sent only the files that changed', async (t) => {
  const key = randomUUID()
  const dockerfile = 'FROM busybox\nCOPY . /ctx\nRUN cat /ctx/a.txt /ctx/b.txt\n'
  const read = async (files: Record<string, string>) => {
    const paths: string[] = []
    const built = await buildDirect(docker, files, { contextKey: key, onRead: (file) => paths.push(file) })
    t.error(built.error, built.log)
    return { paths: paths.sort(), log: built.log }
  }
  const first = await read({ Dockerfile: dockerfile, 'a.txt': 'one\n', 'b.txt': 'two\n' })
  t.same(first.paths, ['Dockerfile', 'Dockerfile', 'a.txt', 'b.txt'], 'the first build reads every file (the Dockerfile for its definition and for the context)')
  // Same size, same folder time: only the file's version tells the engine it changed.
  const second = await read({ Dockerfile: dockerfile, 'a.txt': 'one\n', 'b.txt': 'TWO\n' })
  t.same(second.paths, ['b.txt'], 'the second reads the one file that changed')
  t.match(second.log, /TWO/, 'and the build sees its new content')
})
