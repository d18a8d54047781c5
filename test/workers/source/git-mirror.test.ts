import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Writable } from 'node:stream'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { MirrorCache, type MirrorSettings } from '../../../workers/source/git-mirror.js'
import { tempFolder } from '../../helpers/files.js'
import { createRepo, type TestRepo } from '../../helpers/git-repo.js'

const signal = new AbortController().signal

async function mirrorsIn (t: Test, settings: Partial<MirrorSettings> = {}): Promise<{ cache: (more?: Partial<MirrorSettings>) => MirrorCache; dir: string }> {
  // Outside Slipway's checkout: git runs in this folder, and would find Slipway's own repository from inside it.
  const dir = await tempFolder(t, {}, 'slipway-mirrors-test-')
  return { dir, cache: (more = {}) => new MirrorCache({ dir, maxBytes: 1024 ** 3, holdMaxMs: 3_600_000, ...settings, ...more }) }
}

function checkout (cache: MirrorCache, repo: TestRepo, holder: string, ref: string | null = null, log: string[] = []) {
  return cache.checkout({ repo: repo.url, ref, holder, policy: { allowLocal: true }, signal, readSignal: signal, log: (_stream, text) => log.push(text) })
}

async function fileText (tree: Awaited<ReturnType<typeof checkout>>['tree'], file: string): Promise<string> {
  const entry = await tree.entry(file)
  if (!entry) throw new Error(`${file} is not in the tree`)
  const parts: Buffer[] = []
  await tree.copy(entry, new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      parts.push(chunk)
      done()
    }
  }), signal)
  return Buffer.concat(parts).toString('utf8')
}

t.test('a commit is fetched into the mirror and read from it; a later one fetches only what is new', async (t) => {
  const { cache, dir } = await mirrorsIn(t)
  // More than 100 objects: git keeps a fetch of that many as a pack, so a repeated fetch would show.
  const files: Record<string, string> = { 'app.txt': 'one\n' }
  for (let i = 0; i < 150; i++) files[`data/${i}.txt`] = randomBytes(10_000).toString('base64')
  const repo = await createRepo(t, files)
  const mirrors = cache()
  const first = await checkout(mirrors, repo, 'b1-1')
  t.equal(first.commit, await repo.git('rev-parse', 'HEAD'))
  t.equal(first.resolvedRef, 'refs/heads/main')
  t.equal(await fileText(first.tree, 'app.txt'), 'one\n')
  await first.release()
  const filled = await sizeOf(mirrors.mirrorOf(repo.url))

  const head = await repo.commit({ 'app.txt': 'two\n' })
  const log: string[] = []
  const second = await checkout(mirrors, repo, 'b2-1', 'main', log)
  t.equal(second.commit, head)
  t.equal(await fileText(second.tree, 'app.txt'), 'two\n', 'the new commit')
  await second.release()
  t.strictSame(await readdir(dir).then((names) => names.filter((name) => name.endsWith('.git')).length), 1, 'one mirror for the repository')
  t.match(log.join('\n'), /Fetching refs\/heads\/main/)
  const grown = (await sizeOf(mirrors.mirrorOf(repo.url))) - filled
  t.ok(filled > 1_000_000 && grown < 50_000, `only the new commit's objects were fetched (${grown} bytes more than ${filled})`)

  const gitDir = mirrors.mirrorOf(repo.url)
  t.equal(await readFile(path.join(gitDir, 'slipway-size'), 'utf8').then(Number), await sizeOf(gitDir), 'its size is recorded for eviction')
  t.strictSame(await readdir(path.join(gitDir, 'slipway-holders')), [], 'released: nothing holds it')
})

t.test('tags and commit SHAs, full and abbreviated', async (t) => {
  const { cache } = await mirrorsIn(t)
  const repo = await createRepo(t, { 'v.txt': '1\n' })
  const first = await repo.git('rev-parse', 'HEAD')
  await repo.tag('v1', { annotated: true })
  await repo.commit({ 'v.txt': '2\n' })
  const mirrors = cache()
  for (const [ref, expected, resolvedRef] of [
    ['v1', first, 'refs/tags/v1'],
    [first, first, null],
    [first.slice(0, 9), first, null]
  ] as const) {
    const found = await checkout(mirrors, repo, `h-${ref}`, ref)
    t.equal(found.commit, expected, ref)
    t.equal(found.resolvedRef, resolvedRef)
    t.equal(await fileText(found.tree, 'v.txt'), '1\n')
    await found.release()
  }
})

t.test('builds of one repository at once, from two processes sharing the mirrors, all get their commit', async (t) => {
  const { cache } = await mirrorsIn(t)
  const repo = await createRepo(t, { 'n.txt': '0\n' })
  const commits: string[] = [await repo.git('rev-parse', 'HEAD')]
  for (let i = 1; i < 6; i++) {
    await repo.branch(`b${i}`)
    await repo.checkout(`b${i}`)
    commits.push(await repo.commit({ 'n.txt': `${i}\n` }))
    await repo.checkout('main')
  }
  const processes = [cache(), cache()]
  const results = await Promise.all(
    commits.map(async (_commit, i) => {
      const found = await checkout(processes[i % 2]!, repo, `c${i}`, i === 0 ? 'main' : `b${i}`)
      const text = await fileText(found.tree, 'n.txt')
      await found.release()
      return { commit: found.commit, text }
    })
  )
  t.strictSame(
    results,
    commits.map((commit, i) => ({ commit, text: `${i}\n` }))
  )
})

t.test('a damaged mirror is found and fetched again', async (t) => {
  const { cache } = await mirrorsIn(t)
  const repo = await createRepo(t, { 'a.txt': 'a\n', 'b.bin': randomBytes(100_000).toString('hex') })
  const mirrors = cache()
  await (await checkout(mirrors, repo, 'first')).release()
  const gitDir = mirrors.mirrorOf(repo.url)

  const damages: [string, () => Promise<void>][] = [
    ['its object files cut short', async () => {
      // Loose objects or packs, whichever git chose to keep: each loses its second half.
      const files = await readdir(path.join(gitDir, 'objects'), { recursive: true, withFileTypes: true })
      for (const file of files.filter((entry) => entry.isFile() && !entry.parentPath.endsWith('info'))) {
        const full = path.join(file.parentPath, file.name)
        await truncate(full, Math.floor((await stat(full)).size / 2))
      }
    }],
    ['its objects gone', () => rm(path.join(gitDir, 'objects'), { recursive: true, force: true })],
    ['a HEAD that is not one', () => writeFile(path.join(gitDir, 'HEAD'), 'garbage\n')]
  ]
  for (const [i, [damage, apply]] of damages.entries()) {
    await apply()
    const log: string[] = []
    const found = await checkout(mirrors, repo, `after-${i}`, null, log)
    t.equal(await fileText(found.tree, 'a.txt'), 'a\n', `${damage}: read again`)
    t.match(log.join('\n'), /is damaged .*; fetching it again/, `${damage}: the log says so`)
    await found.release()
  }
})

t.test('the least recently used mirrors go when the total is over the limit, never one in use', async (t) => {
  const { cache } = await mirrorsIn(t)
  const repos = await Promise.all(['a', 'b', 'c'].map((name) => createRepo(t, { [`${name}.bin`]: randomBytes(300_000).toString('hex') })))
  const sizing = cache()
  // A mirror's size and last use are written as a build lets go of it.
  await (await checkout(sizing, repos[0]!, 'first')).release()
  const held = await checkout(sizing, repos[0]!, 'held')
  const one = await sizeOf(sizing.mirrorOf(repos[0]!.url))
  // Room for two mirrors, not three.
  const mirrors = cache({ maxBytes: Math.floor(one * 2.5) })
  await (await checkout(mirrors, repos[1]!, 'b')).release()
  await (await checkout(mirrors, repos[2]!, 'c')).release()
  const present = async () => Promise.all(repos.map((repo) => readdir(mirrors.mirrorOf(repo.url)).then(() => true, () => false)))
  t.strictSame(await present(), [true, false, true], 'b went: a is older, but held by a build')
  await held.release()
  await (await checkout(mirrors, repos[1]!, 'b-again')).release()
  t.strictSame(await present(), [true, true, false], 'then c: a was used until just now')
})

/** Bytes of the objects in a git folder, as `git count-objects` reports them (KiB). */
async function sizeOf (gitDir: string): Promise<number> {
  const { stdout } = await promisify(execFile)('git', ['--git-dir', gitDir, 'count-objects', '-v'])
  const counts = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split(': ')))
  return (Number(counts['size']) + Number(counts['size-pack']) + Number(counts['size-garbage'])) * 1024
}
