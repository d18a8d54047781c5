import { createHash } from 'node:crypto'
import { lstat, readdir } from 'node:fs/promises'
import path from 'node:path'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { BuildFailure } from '../../../src/domain/builds/build-failure.js'
import { createStorage } from '../../../src/storage/storage.js'
import { unpackUpload } from '../../../workers/source/upload-tree.js'
import { testConfig } from '../../helpers/config.js'
import { tempFolder } from '../../helpers/files.js'
import { tarGz, type TarEntrySpec } from '../../helpers/tarball.js'

// The worker unpacks what the API stored, and checks it again: the bytes in Redis are trusted no
// more than the request that brought them. Here they are put in Redis directly, past the API.

async function setup (t: Test) {
  const config = testConfig(t)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const parent = await tempFolder(t, {}, 'slipway-unpack-')
  const dir = path.join(parent, 'upload')
  const key = `${config.prefix}:build:{test}:source`
  const unpack = async (entries: TarEntrySpec[] | null) => {
    const bytes = entries === null ? Buffer.alloc(0) : await tarGz(entries)
    if (entries !== null) await redis.set(key, bytes)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    return unpackUpload({
      uploads: createStorage(redis, config).storedUploads,
      buildId: 'test',
      source: { type: 'upload', sizeBytes: bytes.length, sha256 },
      dir,
      limits: { maxUnpackedBytes: 1024 * 1024, maxEntries: 100 },
      signal: AbortSignal.timeout(30_000),
      log: () => undefined
    })
  }
  /** The code of the BuildFailure unpacking these entries ends in. */
  const failure = async (entries: TarEntrySpec[] | null) => {
    const error = await unpack(entries).then(() => null, (caught: unknown) => caught)
    t.type(error, BuildFailure)
    return error as BuildFailure
  }
  return { parent, dir, unpack, failure }
}

t.test('an upload unpacks into a tree that reads like a checkout', async (t) => {
  const { unpack } = await setup(t)
  const mtime = new Date('2026-03-04T05:06:07Z')
  const given: TarEntrySpec[] = [
    { name: './', type: 'directory' },
    { name: './Dockerfile', content: 'FROM busybox\n', mtime },
    { name: './bin/run.sh', content: '#!/bin/sh\n', mode: 0o755 },
    { name: './current', type: 'symlink', linkname: 'bin/run.sh' }
  ]
  const source = await unpack(given.map((entry) => ({ mtime: new Date('2026-01-01T00:00:00Z'), ...entry })))
  t.equal(source.commit, null, 'an upload has no commit')
  t.match(source.revision, /^[0-9a-f]{64}$/, 'it is named by its sha256')
  t.same(source.time, mtime, 'every file carries the newest time in the tar')
  const names = (await source.tree.children('')).map((entry) => [entry.path, entry.type])
  t.same(names, [['Dockerfile', 'file'], ['bin', 'directory'], ['current', 'symlink']])
  t.equal((await source.tree.entry('bin/run.sh'))?.mode, 0o755, 'modes are kept')
  t.equal((await source.tree.entry('current'))?.linkname, 'bin/run.sh', 'a symlink stays a link')
  t.equal((await source.tree.read((await source.tree.entry('Dockerfile'))!)).toString(), 'FROM busybox\n')
})

t.test('what the API would have refused is refused again, and nothing lands outside the folder', async (t) => {
  const { parent, failure } = await setup(t)
  const hostile = await failure([{ name: '../escaped', content: 'x' }])
  t.equal(hostile.code, 'UPLOAD_UNSAFE')
  const through = await failure([{ name: 'link', type: 'symlink', linkname: '.' }, { name: 'link/escaped', content: 'x' }])
  t.equal(through.code, 'UPLOAD_UNSAFE')
  // Written first, the link that leads out looks harmless until a later link retargets it.
  const chain = await failure([
    { name: 'a/x', type: 'symlink', linkname: 'y/../..' },
    { name: 'a/y', type: 'symlink', linkname: '..' }
  ])
  t.equal(chain.code, 'UPLOAD_UNSAFE')
  t.match(chain.message, /'a\/x' is a symlink leading out of the upload/)
  t.same(await readdir(parent), ['upload'], 'nothing was written beside the upload folder')
})

t.test('an entry that appears twice, or a folder that is a file, is refused: nothing is replaced', async (t) => {
  const twice = await (await setup(t)).failure([{ name: 'a', content: 'first' }, { name: 'a', content: 'second' }])
  t.equal(twice.code, 'UPLOAD_UNSAFE')
  t.match(twice.message, /'a' appears twice in the tar/)
  const { dir, failure } = await setup(t)
  const notFolder = await failure([{ name: 'a', content: 'file' }, { name: 'a/b', content: 'x' }])
  t.equal(notFolder.code, 'UPLOAD_UNSAFE')
  t.match(notFolder.message, /'a' is needed as a folder but is a file or a symlink/)
  t.ok((await lstat(path.join(dir, 'a'))).isFile(), 'the first entry is left as it was')
})

t.test('an upload that is no longer stored fails UPLOAD_MISSING', async (t) => {
  const { failure } = await setup(t)
  const missing = await failure(null)
  t.equal(missing.code, 'UPLOAD_MISSING')
  t.match(missing.message, /Upload it again/)
})
