import { execFile } from 'node:child_process'
import { chmod, symlink } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { BuildFailure } from '../../src/domain/builds/build-failure.js'
import { packContext, parseDockerignore, planContext, type ContextPlan } from '../../src/build-context/context.js'
import { diskTree } from '../../src/build-context/disk-tree.js'
import { gitTree } from '../../workers/source/git-tree.js'
import type { SourceTree } from '../../src/build-context/source-tree.js'
import { readTar, tempFolder } from '../helpers/files.js'

const signal = new AbortController().signal
const MTIME = new Date('2026-01-02T03:04:05Z')

/**
 * The folder as both kinds of source tree: read from disk (a checkout) and read from the objects of
 * a git repository it was committed to (a mirror). Each test runs against both: they must agree.
 */
async function treesOf (t: Test, dir: string): Promise<[string, SourceTree][]> {
  const gitDir = await tempFolder(t, {}, 'slipway-context-git-')
  const git = (...args: string[]) => promisify(execFile)('git', ['--git-dir', gitDir, '--work-tree', dir, ...args])
  await git('init', '--quiet')
  await git('add', '--all')
  await git('-c', 'user.name=test', '-c', 'user.email=test@slipway.invalid', 'commit', '--quiet', '--allow-empty', '-m', 'tree')
  const fromGit = await gitTree(gitDir, 'HEAD', signal)
  t.teardown(() => fromGit.close())
  return [
    ['disk', diskTree(dir)],
    ['git', fromGit]
  ]
}

async function planFailure (input: Parameters<typeof planContext>[0]): Promise<BuildFailure | undefined> {
  try {
    await planContext(input)
  } catch (error) {
    if (error instanceof BuildFailure) return error
    throw error
  }
  return undefined
}

const names = (plan: ContextPlan) => plan.entries.map((entry) => entry.name).sort()
const entry = (plan: ContextPlan, name: string) => plan.entries.find((candidate) => candidate.name === name)

t.test('parseDockerignore reads .dockerignore as Docker does', async (t) => {
  const cases: [string, string, string[]][] = [
    ['comments and blank lines are dropped', '# build output\n\nnode_modules\n   \n#*.log\n', ['node_modules']],
    ['surrounding spaces are trimmed', '  dist  \n\t*.tmp\n', ['dist', '*.tmp']],
    ['exceptions keep their "!"', 'docs\n!docs/README.md\n! spaced.txt\n', ['docs', '!docs/README.md', '!spaced.txt']],
    ['a leading "/" is removed', '/build\n!/build/keep\n', ['build', '!build/keep']],
    ['paths are cleaned', './a/\nb//c/\nd/./e\nf/../g\n', ['a', 'b/c', 'd/e', 'g']],
    ['a lone "/" stays', '/\n', ['/']],
    ['globs are kept as written', '**/*.log\n*.md\n!README*.md\n', ['**/*.log', '*.md', '!README*.md']],
    ['CRLF line endings', 'a\r\nb\r\n', ['a', 'b']],
    ['a byte order mark is dropped', '\uFEFFnode_modules\n.git\n', ['node_modules', '.git']],
    ['a byte order mark before a comment', '\uFEFF# comment\nx\n', ['x']],
    ['an empty file', '', []]
  ]
  for (const [name, text, expected] of cases) t.strictSame(parseDockerignore(text), expected, name)
})

t.test('planContext: what .dockerignore excludes is not in the context', async (t) => {
  const clone = await tempFolder(t, {
    Dockerfile: 'FROM scratch\nCOPY . /app\n',
    '.dockerignore': '# ignore\nnode_modules\n*.log\nsecret/\n!secret/keep.txt\n/docs\n',
    'app.js': 'console.log(1)\n',
    'debug.log': 'noise\n',
    'node_modules/pkg/index.js': 'module.exports = 1\n',
    'secret/a.txt': 'secret\n',
    'secret/keep.txt': 'kept\n',
    'docs/readme.md': '# docs\n',
    'src/main.js': 'main\n',
    'src/deep/x.log': 'only root-level *.log is excluded\n'
  })
  await symlink('app.js', path.join(clone, 'link'))
  await symlink('/etc/passwd', path.join(clone, 'outside-link'))
  await symlink('src', path.join(clone, 'dirlink'))

  for (const [kind, tree] of await treesOf(t, clone)) {
    const plan = await planContext({ tree, context: '.', dockerfile: 'Dockerfile', signal })
    t.strictSame(
      names(plan),
      ['.dockerignore', 'Dockerfile', 'app.js', 'dirlink', 'link', 'outside-link', 'secret/keep.txt', 'src', 'src/deep', 'src/deep/x.log', 'src/main.js'],
      kind
    )
    t.equal(plan.dockerfile, 'Dockerfile')
    t.notOk(entry(plan, 'secret'), `${kind}: an excluded folder is walked for its exception, but not itself added`)
    t.notOk(entry(plan, 'secret/a.txt'))
    t.match(entry(plan, 'src'), { type: 'directory', size: 0 })
    t.match(entry(plan, 'app.js'), { type: 'file', size: Buffer.byteLength('console.log(1)\n'), source: { path: 'app.js' } })

    // Symlinks stay links: never followed, wherever they point.
    t.match(entry(plan, 'link'), { type: 'symlink', linkname: 'app.js', size: 0 })
    t.match(entry(plan, 'outside-link'), { type: 'symlink', linkname: '/etc/passwd', size: 0 })
    t.match(entry(plan, 'dirlink'), { type: 'symlink', linkname: 'src' })
    t.notOk(entry(plan, 'dirlink/main.js'), `${kind}: a symlinked folder is not walked`)

    const files = plan.entries.filter((candidate) => candidate.type === 'file')
    t.equal(plan.files, 6)
    t.equal(plan.files, files.length)
    t.equal(plan.bytes, files.reduce((sum, file) => sum + file.size, 0))
    t.strictSame(plan.root, { hasDockerignore: true, names: ['.dockerignore', 'Dockerfile', 'app.js', 'debug.log', 'dirlink', 'docs', 'link', 'node_modules', 'outside-link', 'secret', 'src'] })
  }
})

t.test('planContext: a context folder with a Dockerfile in it', async (t) => {
  const clone = await tempFolder(t, {
    'README.md': 'outside the context\n',
    'services/api/Dockerfile': 'FROM scratch\n',
    'services/api/main.go': 'package main\n',
    'services/web/index.html': 'other service\n'
  })
  for (const [kind, tree] of await treesOf(t, clone)) {
    const plan = await planContext({ tree, context: 'services/api', dockerfile: 'services/api/Dockerfile', signal })
    t.strictSame(names(plan), ['Dockerfile', 'main.go'], `${kind}: only what is inside the context, named relative to it`)
    t.equal(plan.dockerfile, 'Dockerfile')
    t.equal(entry(plan, 'main.go')?.source?.path, 'services/api/main.go')
  }
})

t.test('planContext: a Dockerfile and .dockerignore excluded by .dockerignore are still sent', async (t) => {
  const clone = await tempFolder(t, {
    Dockerfile: 'FROM scratch\n',
    '.dockerignore': '*\n',
    'app.js': 'x\n',
    'sub/file.txt': 'y\n'
  })
  const nested = await tempFolder(t, {
    'build/Dockerfile': 'FROM scratch\n',
    'build/other.txt': 'excluded\n',
    '.dockerignore': 'build\n',
    'app.js': 'x\n'
  })
  for (const [kind, tree] of await treesOf(t, clone)) {
    const plan = await planContext({ tree, context: '.', dockerfile: 'Dockerfile', signal })
    t.strictSame(names(plan), ['.dockerignore', 'Dockerfile'], kind)
    t.equal(plan.dockerfile, 'Dockerfile')
    t.notOk(entry(plan, 'Dockerfile')?.content, `${kind}: sent from the source as it is`)
  }
  for (const [kind, tree] of await treesOf(t, nested)) {
    const nestedPlan = await planContext({ tree, context: '.', dockerfile: 'build/Dockerfile', signal })
    t.strictSame(names(nestedPlan), ['.dockerignore', 'app.js', 'build/Dockerfile'], `${kind}: reachable inside an excluded folder`)
    t.equal(nestedPlan.dockerfile, 'build/Dockerfile')
  }
})

t.test('planContext: a Dockerfile outside the context is added under a name of its own', async (t) => {
  const dockerfile = 'FROM scratch\nCOPY . /app\n'
  const clone = await tempFolder(t, {
    'docker/app.Dockerfile': dockerfile,
    'app/index.js': 'index\n'
  })
  // The context's own .dockerignore is kept, with the copy added to it.
  const withIgnore = await tempFolder(t, {
    Dockerfile: dockerfile,
    'app/index.js': 'index\n',
    'app/scratch.tmp': 'excluded\n',
    'app/.dockerignore': '*.tmp\n'
  })
  for (const [kind, tree] of await treesOf(t, clone)) {
    const plan = await planContext({ tree, context: 'app', dockerfile: 'docker/app.Dockerfile', signal })
    t.equal(plan.dockerfile, '.dockerfile.slipway', kind)
    t.strictSame(names(plan), ['.dockerfile.slipway', '.dockerignore', 'index.js'])
    const inline = entry(plan, '.dockerfile.slipway')
    t.equal(inline?.content?.toString(), dockerfile, `${kind}: the Dockerfile is copied in`)
    t.equal(inline?.size, Buffer.byteLength(dockerfile))
    const ignore = entry(plan, '.dockerignore')?.content?.toString() ?? ''
    t.strictSame(ignore.split('\n').filter(Boolean), ['.dockerignore', '.dockerfile.slipway'], `${kind}: the synthetic .dockerignore lists it`)
    t.equal(plan.files, 3)
    t.equal(plan.bytes, plan.entries.reduce((sum, candidate) => sum + candidate.size, 0))
  }
  for (const [kind, tree] of await treesOf(t, withIgnore)) {
    const plan2 = await planContext({ tree, context: 'app', dockerfile: 'Dockerfile', signal })
    t.equal(plan2.dockerfile, '.dockerfile.slipway', kind)
    t.strictSame(names(plan2), ['.dockerfile.slipway', '.dockerignore', 'index.js'])
    const ignore2 = entry(plan2, '.dockerignore')
    t.strictSame((ignore2?.content?.toString() ?? '').split('\n').filter(Boolean), ['*.tmp', '.dockerfile.slipway'])
    t.equal(ignore2?.size, ignore2?.content?.length, `${kind}: the size is that of the new content`)
  }
})

t.test('planContext: a symlinked .dockerignore is replaced by a regular file when the Dockerfile is added', async (t) => {
  const clone = await tempFolder(t, { Dockerfile: 'FROM scratch\n', 'app/index.js': 'x\n', 'app/real-ignore': '*.tmp\n' })
  await symlink('real-ignore', path.join(clone, 'app', '.dockerignore'))
  for (const [kind, tree] of await treesOf(t, clone)) {
    const plan = await planContext({ tree, context: 'app', dockerfile: 'Dockerfile', signal })
    t.match(entry(plan, '.dockerignore'), { type: 'file' }, kind)
    const packed = await readTar(packContext(plan, tree, MTIME, signal))
    t.ok(packed.some((item) => item.header.name === '.dockerignore' && item.header.type === 'file'), `${kind}: the tar is built, with our .dockerignore as a file`)
  }
})

t.test('planContext: a Dockerfile reached through a symlink inside the clone is sent as a copy', async (t) => {
  const clone = await tempFolder(t, { 'real/Dockerfile': 'FROM scratch\n', 'app.js': 'x\n' })
  await symlink('real/Dockerfile', path.join(clone, 'Dockerfile'))
  for (const [kind, tree] of await treesOf(t, clone)) {
    const plan = await planContext({ tree, context: '.', dockerfile: 'Dockerfile', signal })
    t.equal(plan.dockerfile, '.dockerfile.slipway', kind)
    t.equal(entry(plan, '.dockerfile.slipway')?.content?.toString(), 'FROM scratch\n')
    t.match(entry(plan, 'Dockerfile'), { type: 'symlink', linkname: 'real/Dockerfile' }, `${kind}: the link itself stays a link`)
  }
})

t.test('planContext: nothing outside the repository is read', async (t) => {
  const outside = await tempFolder(t, { Dockerfile: 'FROM scratch\n', 'stolen.txt': 'not yours\n' })
  const clone = await tempFolder(t, { Dockerfile: 'FROM scratch\n', 'file.txt': 'a file\n', 'folder/x': 'x\n' })
  await symlink(outside, path.join(clone, 'escape'))
  await symlink('../../..', path.join(clone, 'climb'))
  await symlink('/etc/passwd', path.join(clone, 'passwd.Dockerfile'))
  await symlink('loop-b', path.join(clone, 'loop-a'))
  await symlink('loop-a', path.join(clone, 'loop-b'))

  const cases: [string, string, string, RegExp][] = [
    ['escape', 'Dockerfile', 'CONTEXT_NOT_FOUND', /context folder 'escape' does not exist/],
    ['climb', 'Dockerfile', 'CONTEXT_NOT_FOUND', /context folder 'climb' does not exist/],
    ['missing', 'Dockerfile', 'CONTEXT_NOT_FOUND', /context folder 'missing' does not exist/],
    ['loop-a', 'Dockerfile', 'CONTEXT_NOT_FOUND', /context folder 'loop-a' does not exist/],
    ['file.txt', 'Dockerfile', 'CONTEXT_NOT_FOUND', /is a file, not a folder/],
    ['.', 'passwd.Dockerfile', 'DOCKERFILE_NOT_FOUND', /No Dockerfile at 'passwd\.Dockerfile'/],
    ['.', 'escape/Dockerfile', 'DOCKERFILE_NOT_FOUND', /No Dockerfile at 'escape\/Dockerfile'/],
    ['.', 'climb/etc/passwd', 'DOCKERFILE_NOT_FOUND', /No Dockerfile at 'climb\/etc\/passwd'/],
    ['.', 'folder', 'DOCKERFILE_NOT_FOUND', /'folder' is a folder, not a Dockerfile/]
  ]
  for (const [kind, tree] of await treesOf(t, clone)) {
    for (const [context, dockerfile, code, message] of cases) {
      const failure = await planFailure({ tree, context, dockerfile, signal })
      t.equal(failure?.code, code, `${kind}: context ${context}, dockerfile ${dockerfile}`)
      t.match(failure?.message, message)
    }
  }
})

t.test('planContext: a missing Dockerfile is reported with the Dockerfiles there are', async (t) => {
  const clone = await tempFolder(t, {
    'services/api/Dockerfile': 'FROM scratch\n',
    'docker/Dockerfile.prod': 'FROM scratch\n',
    'deploy/app.dockerfile': 'FROM scratch\n',
    Containerfile: 'FROM scratch\n',
    '.git/Dockerfile': 'not part of the tree\n',
    'src/main.go': 'package main\n'
  })
  const empty = await tempFolder(t, { 'README.md': 'no Dockerfile here\n' })
  for (const [kind, tree] of await treesOf(t, clone)) {
    const failure = await planFailure({ tree, context: '.', dockerfile: 'Dockerfile', signal })
    t.equal(failure?.code, 'DOCKERFILE_NOT_FOUND', kind)
    const message = failure?.message ?? ''
    t.match(message, /^No Dockerfile at 'Dockerfile'\./)
    for (const found of ['Containerfile', 'deploy/app.dockerfile', 'docker/Dockerfile.prod', 'services/api/Dockerfile']) {
      t.match(message, found, `${kind}: lists ${found}`)
    }
    t.notMatch(message, '.git/', 'not what is under .git')
    t.notMatch(message, 'main.go')
  }
  for (const [kind, tree] of await treesOf(t, empty)) {
    const none = await planFailure({ tree, context: '.', dockerfile: 'Dockerfile', signal })
    t.equal(none?.code, 'DOCKERFILE_NOT_FOUND', kind)
    t.match(none?.message, /has no file named like a Dockerfile/)
  }
})

t.test('packContext: the planned context as a tar', async (t) => {
  const clone = await tempFolder(t, {
    Dockerfile: 'FROM scratch\nCOPY . /\n',
    '.dockerignore': 'ignored.txt\n',
    'ignored.txt': 'not sent\n',
    'bin/run.sh': '#!/bin/sh\necho run\n',
    'data/hello.txt': 'héllo wörld\n',
    'data/big.bin': 'x'.repeat(300_000)
  })
  await chmod(path.join(clone, 'bin/run.sh'), 0o755)
  await chmod(path.join(clone, 'data/hello.txt'), 0o640)
  await symlink('../data/hello.txt', path.join(clone, 'bin/hello'))
  for (const [kind, tree] of await treesOf(t, clone)) {
    const plan = await planContext({ tree, context: '.', dockerfile: 'Dockerfile', signal })
    const entries = await readTar(packContext(plan, tree, MTIME, signal))

    t.strictSame(
      entries.map((item) => item.header.name),
      plan.entries.map((planned) => planned.name),
      `${kind}: every planned entry, in order`
    )
    t.strictSame(
      entries.map((item) => item.header.name).sort(),
      ['.dockerignore', 'Dockerfile', 'bin', 'bin/hello', 'bin/run.sh', 'data', 'data/big.bin', 'data/hello.txt']
    )
    for (const item of entries) {
      t.equal(item.header.uid, 0, `${kind}: ${item.header.name}: uid 0`)
      t.equal(item.header.gid, 0, `${kind}: ${item.header.name}: gid 0`)
      t.equal(item.header.mtime?.getTime(), MTIME.getTime(), `${kind}: ${item.header.name}: the commit's time`)
    }
    const byName = new Map(entries.map((item) => [item.header.name, item]))
    t.equal(byName.get('Dockerfile')?.content, 'FROM scratch\nCOPY . /\n')
    t.equal(byName.get('.dockerignore')?.content, 'ignored.txt\n')
    t.equal(byName.get('data/hello.txt')?.content, 'héllo wörld\n', `${kind}: contents byte for byte`)
    t.equal(byName.get('data/hello.txt')?.header.size, Buffer.byteLength('héllo wörld\n'))
    t.equal(byName.get('data/big.bin')?.content, 'x'.repeat(300_000), `${kind}: a file larger than a pipe's buffer`)
    // git keeps only whether a file is executable; a checkout of it is 0644 or 0755.
    t.equal(byName.get('data/hello.txt')?.header.mode, kind === 'disk' ? 0o640 : 0o644, `${kind}: the file mode`)
    t.equal(byName.get('bin/run.sh')?.header.mode, 0o755)
    t.equal(byName.get('bin/run.sh')?.content, '#!/bin/sh\necho run\n')
    t.match(byName.get('bin/hello')?.header, { type: 'symlink', linkname: '../data/hello.txt', size: 0 })
    t.equal(byName.get('bin/hello')?.content, '', 'a symlink carries no content')
    t.match(byName.get('bin')?.header, { type: 'directory', size: 0 })
    t.notOk(byName.get('ignored.txt'))
  }
})

t.test('packContext: files of ours carry their content', async (t) => {
  const clone = await tempFolder(t, { 'docker/Dockerfile': 'FROM scratch\n', 'app/a.txt': 'a\n' })
  for (const [kind, tree] of await treesOf(t, clone)) {
    const plan = await planContext({ tree, context: 'app', dockerfile: 'docker/Dockerfile', signal })
    const entries = await readTar(packContext(plan, tree, MTIME, signal))
    const byName = new Map(entries.map((item) => [item.header.name, item]))
    t.equal(byName.get('.dockerfile.slipway')?.content, 'FROM scratch\n', kind)
    t.equal(byName.get('.dockerfile.slipway')?.header.uid, 0)
    t.match(byName.get('.dockerignore')?.content, /^\.dockerignore\n[\s\S]*\.dockerfile\.slipway\n$/)
    t.equal(byName.get('a.txt')?.content, 'a\n')
  }
})

t.test('packContext: an aborted signal ends the stream with an error', async (t) => {
  const clone = await tempFolder(t, { Dockerfile: 'FROM scratch\n', 'a.txt': 'a\n' })
  for (const [kind, tree] of await treesOf(t, clone)) {
    const plan = await planContext({ tree, context: '.', dockerfile: 'Dockerfile', signal })
    const controller = new AbortController()
    controller.abort(new Error('canceled by the test'))
    await t.rejects(readTar(packContext(plan, tree, MTIME, controller.signal)), /canceled by the test/, kind)
  }
})
