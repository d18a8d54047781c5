import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import t, { type Test } from 'tap'
import { cloneSource } from '../../../workers/source/clone.js'
import { resolveSubmoduleUrl } from '../../../workers/source/submodules.js'
import { tempFolder } from '../../helpers/files.js'
import { createRepo, type TestRepo } from '../../helpers/git-repo.js'
import { writeSubmoduleTrap } from '../../helpers/submodule-trap.js'

// Submodules are repository content: whatever .gitmodules, the tree or a committed folder says,
// the worker runs no command of theirs and writes nowhere but the clone.

// Several folders a test, each outside Slipway's own checkout (see tempFolder).
const scratch = (t: Test) => tempFolder(t, {}, 'slipway-submodules-')

function clone (t: Test, repo: TestRepo, dir: string) {
  const log: string[] = []
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const done = cloneSource({
    repo: repo.url,
    ref: null,
    dir,
    policy: { allowLocal: true },
    submodules: true,
    signal: new AbortController().signal,
    log: (_stream, text) => log.push(text)
  })
  return { done, log }
}

const gitmodules = (entries: [name: string, path: string, url: string][]) =>
  entries.map(([name, where, url]) => `[submodule "${name}"]\n\tpath = ${where}\n\turl = ${url}\n`).join('')

t.test('resolveSubmoduleUrl resolves relative URLs as git does', async (t) => {
  // Each expectation is what `git submodule init` (2.39) wrote for that parent URL and .gitmodules URL.
  const cases: [parent: string, url: string, resolved: string][] = [
    ['https://host/org/app.git', '../lib.git', 'https://host/org/lib.git'],
    ['https://host/org/app.git', './lib', 'https://host/org/app.git/lib'],
    ['https://host/org/app.git/', '../lib', 'https://host/org/lib'],
    ['https://host/a', './../b/./c', 'https://host/b/./c'],
    ['https://host/a/b.git', '../x//', 'https://host/a/x/'],
    ['https://host/a/b.git', '../', 'https://host/a/'],
    ['https://host/app.git', '../../../../x', 'https:x'],
    ['ssh://git@host:22/org/app', '../../other/lib.git', 'ssh://git@host:22/other/lib.git'],
    ['git@host:org/app.git', '../lib.git', 'git@host:org/lib.git'],
    ['git@host:org/app.git', '../../lib.git', 'git@host:lib.git'],
    ['host:app.git', '../lib.git', 'host:lib.git'],
    ['file:///srv/git/app.git', '../lib/', 'file:///srv/git/lib'],
    ['https://host/org/app.git', 'https://other/lib.git', 'https://other/lib.git'],
    ['https://host/org/app.git', 'git@other:lib.git', 'git@other:lib.git']
  ]
  for (const [parent, url, resolved] of cases) t.equal(resolveSubmoduleUrl(url, parent), resolved, `${parent} + ${url}`)
  // git makes ".:x" of this; nothing a policy should be asked about.
  t.throws(() => resolveSubmoduleUrl('../../x', 'git@host:app.git'), { code: 'SUBMODULE_REFUSED', message: /climbs above git@host:app.git/ })
})

t.test('a folder laid out as a bare repository at a .gitmodules path runs no command of its config', async (t) => {
  const marker = path.join(await scratch(t), `pwned-${randomUUID()}`)
  const library = await createRepo(t, { 'lib.txt': 'library\n' })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\n' })
  await writeSubmoduleTrap(t, path.join(repo.dir, 'evil'), marker, library.url)
  await repo.commit({ '.gitmodules': gitmodules([['evil', 'evil', library.url]]) }, 'the trap')

  const { done, log } = clone(t, repo, path.join(await scratch(t), 'checkout'))
  await done
  t.notOk(existsSync(marker), 'no hook, update command, fsmonitor or helper of the committed config ran')
  t.ok(log.some((line) => line.includes("'evil'") && line.includes('not a submodule')), 'the log says the path was not followed')
})

t.test('a .gitmodules path through a committed symlink is not followed out of the clone', async (t) => {
  // checkout = <root>/a/b/checkout, so "link -> ../../.." is <root>, where another build left a trap.
  const root = await scratch(t)
  const marker = path.join(root, `pwned-${randomUUID()}`)
  const library = await createRepo(t, { 'lib.txt': 'library\n' })
  await writeSubmoduleTrap(t, path.join(root, 'x'), marker, library.url)
  const outsideBefore = await readdir(path.join(root, 'x'), { recursive: true })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\n' })
  await symlink('../../..', path.join(repo.dir, 'link'))
  await repo.commit({ '.gitmodules': gitmodules([['x', 'link/x', library.url]]) }, 'a path out through a link')

  const { done } = clone(t, repo, path.join(root, 'a', 'b', 'checkout'))
  await done
  t.notOk(existsSync(marker), 'nothing ran in the folder outside')
  t.strictSame(await readdir(path.join(root, 'x'), { recursive: true }), outsideBefore, 'nothing was written outside')
})

t.test('a trap or a gitlink reachable only through a committed symlink is not followed', async (t) => {
  const marker = path.join(await scratch(t), `pwned-${randomUUID()}`)
  const library = await createRepo(t, { 'lib.txt': 'library\n' })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\n' })
  await writeSubmoduleTrap(t, path.join(repo.dir, 'hidden'), marker, library.url)
  await symlink('hidden', path.join(repo.dir, 'trap-link'))
  await repo.git('-c', 'protocol.file.allow=always', 'submodule', 'add', '--quiet', library.url, 'real/lib')
  await symlink('real', path.join(repo.dir, 'lib-link'))
  await repo.commit(
    {
      '.gitmodules': gitmodules([
        ['lib', 'real/lib', library.url],
        ['trap', 'trap-link', library.url],
        ['alias', 'lib-link/lib', library.url]
      ])
    },
    'paths through links'
  )

  const dir = path.join(await scratch(t), 'checkout')
  const { done, log } = clone(t, repo, dir)
  await done
  t.notOk(existsSync(marker), 'the trap behind the link ran nothing')
  t.equal(await readFile(path.join(dir, 'real', 'lib', 'lib.txt'), 'utf8'), 'library\n', 'the gitlink is fetched at its own path')
  for (const where of ['trap-link', 'lib-link/lib']) {
    t.ok(log.some((line) => line.includes(`'${where}'`) && line.includes('not a submodule')), `${where}: not followed`)
  }
})

t.test('a gitlink that the checkout leaves as a link out of the clone is refused', async (t) => {
  // A crafted tree records "lib" twice: a gitlink, which git's lookups find, then a link, which the
  // checkout writes. checkout = <root>/a/b/checkout, so the link leads to <root>/x.
  const root = await scratch(t)
  const marker = path.join(root, `pwned-${randomUUID()}`)
  const library = await createRepo(t, { 'lib.txt': 'library\n' })
  await writeSubmoduleTrap(t, path.join(root, 'x'), marker, library.url)
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\n', '.gitmodules': gitmodules([['lib', 'lib', library.url]]) })
  const withInput = (input: string, ...args: string[]) => execFileSync('git', args, { cwd: repo.dir, input, encoding: 'utf8' }).trim()
  const link = withInput('../../../x', 'hash-object', '-w', '--stdin')
  const listing = `${await repo.git('ls-tree', 'HEAD')}\n160000 commit ${await library.git('rev-parse', 'HEAD')}\tlib\n120000 blob ${link}\tlib\n`
  const tree = withInput(listing, 'mktree')
  await repo.git('update-ref', 'refs/heads/main', await repo.git('commit-tree', tree, '-p', 'HEAD', '-m', 'lib twice'))

  await t.rejects(clone(t, repo, path.join(root, 'a', 'b', 'checkout')).done, { code: 'SUBMODULE_REFUSED', message: /'lib' does not resolve to a folder inside the checkout/ })
  t.notOk(existsSync(marker), 'nothing ran in the folder the link leads to')
})

t.test('legitimate nested submodules, with absolute and relative URLs, are checked out at their recorded commits', async (t) => {
  const nested = await createRepo(t, { 'nested.txt': 'nested\n' })
  const pinned = await nested.git('rev-parse', 'HEAD')
  await nested.commit({ 'nested.txt': 'newer, not recorded\n' })
  const library = await createRepo(t, { 'lib.txt': 'library\n' })
  await library.git('-c', 'protocol.file.allow=always', 'submodule', 'add', '--quiet', nested.url, 'deps/nested')
  await library.git('-C', 'deps/nested', 'checkout', '--quiet', pinned)
  await library.git('add', 'deps/nested')
  await library.git('commit', '--quiet', '-m', 'nested')
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\n' })
  await repo.git('-c', 'protocol.file.allow=always', 'submodule', 'add', '--quiet', library.url, 'lib')
  // Relative to the repository's own URL, as git resolves it.
  await repo.git('config', '--file', '.gitmodules', 'submodule.lib.url', `../${path.basename(library.dir)}`)
  await repo.git('add', '.gitmodules', 'lib')
  await repo.git('commit', '--quiet', '-m', 'library')

  const dir = path.join(await scratch(t), 'checkout')
  await clone(t, repo, dir).done
  t.equal(await readFile(path.join(dir, 'lib', 'lib.txt'), 'utf8'), 'library\n')
  t.equal(await readFile(path.join(dir, 'lib', 'deps', 'nested', 'nested.txt'), 'utf8'), 'nested\n', 'the recorded commit, not the branch tip')
})

t.test('a submodule whose URL the policy refuses fails the clone before git fetches it', async (t) => {
  const marker = path.join(await scratch(t), `pwned-${randomUUID()}`)
  const library = await createRepo(t, { 'lib.txt': 'library\n' })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\n' })
  await repo.git('-c', 'protocol.file.allow=always', 'submodule', 'add', '--quiet', library.url, 'lib')
  await writeFile(path.join(repo.dir, '.gitmodules'), gitmodules([['lib', 'lib', `ext::sh -c touch% ${marker}`]]))
  await repo.commit({}, 'hostile URL')
  await t.rejects(clone(t, repo, path.join(await scratch(t), 'checkout')).done, { code: 'SUBMODULE_REFUSED' })
  t.notOk(existsSync(marker))

  await repo.commit({ '.gitmodules': gitmodules([['lib', 'lib', 'https://g\u0456t.example.com/lib.git']]) }, 'look-alike host')
  await t.rejects(clone(t, repo, path.join(await scratch(t), 'checkout-2')).done, { code: 'SUBMODULE_REFUSED', message: /mixes Latin and Cyrillic/ })
})
