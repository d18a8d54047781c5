import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { readSafeTar, type TarEntry, type TarLimits } from '../../../src/domain/uploads/safe-tar.js'
import { tarGz, type TarEntrySpec } from '../../helpers/tarball.js'

const LIMITS: TarLimits = { maxUnpackedBytes: 10 * 1024 * 1024, maxEntries: 1000 }

/** Reads the tar, collecting each checked entry with its content. */
async function read (gzipped: Buffer, limits = LIMITS) {
  const entries: (TarEntry & { content: string })[] = []
  const summary = await readSafeTar(Readable.from([gzipped]), limits, async (entry, content) => {
    const chunks: Buffer[] = []
    for await (const chunk of content) chunks.push(chunk as Buffer)
    entries.push({ ...entry, content: Buffer.concat(chunks).toString() })
  })
  return { entries, summary }
}

/** The code and message readSafeTar refuses these entries with. */
async function refusal (entries: TarEntrySpec[] | Buffer, limits = LIMITS) {
  const gzipped = Buffer.isBuffer(entries) ? entries : await tarGz(entries)
  try {
    await read(gzipped, limits)
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message }
  }
  return { code: 'none', message: 'accepted' }
}

t.test('a tar of files, folders and symlinks inside it is read, with clean paths', async (t) => {
  const given: TarEntrySpec[] = [
    { name: './', type: 'directory', mode: 0o755 },
    { name: './app/', type: 'directory', mode: 0o750 },
    { name: './app//main.sh', content: 'echo hi\n', mode: 0o4755, mtime: new Date('2026-02-03T04:05:06Z') },
    { name: 'app/current', type: 'symlink', linkname: 'main.sh' },
    { name: 'docs/up', type: 'symlink', linkname: '../app' }
  ]
  const { entries, summary } = await read(await tarGz(given.map((entry) => ({ mtime: new Date('2026-01-01T00:00:00Z'), ...entry }))))
  t.same(
    entries.map(({ path, type, mode, linkname, content }) => ({ path, type, mode, linkname, content })),
    [
      { path: 'app', type: 'directory', mode: 0o750, linkname: undefined, content: '' },
      { path: 'app/main.sh', type: 'file', mode: 0o755, linkname: undefined, content: 'echo hi\n' },
      { path: 'app/current', type: 'symlink', mode: 0o777, linkname: 'main.sh', content: '' },
      { path: 'docs/up', type: 'symlink', mode: 0o777, linkname: '../app', content: '' }
    ],
    'the root entry is skipped, "./" and "//" are cleaned, the setuid bit is dropped'
  )
  t.equal(summary.entries, 5)
  t.same(summary.newest, new Date('2026-02-03T04:05:06Z'), 'the newest time of any entry')
})

t.test('entries that could reach outside the upload, or are not files, folders or symlinks, are refused', async (t) => {
  const cases: [string, TarEntrySpec[], RegExp][] = [
    ['an absolute path', [{ name: '/etc/cron.d/evil', content: 'x' }], /'\/etc\/cron.d\/evil' is an absolute path/],
    ['a path climbing out', [{ name: 'app/../../evil', content: 'x' }], /climbs out with "\.\."/],
    ['a symlink to an absolute path', [{ name: 'passwd', type: 'symlink', linkname: '/etc/passwd' }], /symlink to the absolute path '\/etc\/passwd'/],
    ['a symlink leading out', [{ name: 'a/out', type: 'symlink', linkname: '../../secret' }], /symlink leading out of the upload/],
    [
      'a file written through a symlink',
      [
        { name: 'inside', type: 'directory' },
        { name: 'link', type: 'symlink', linkname: 'inside' },
        { name: 'link/file', content: 'x' }
      ],
      /'link\/file' lies under 'link', which is a symlink/
    ],
    ['a hard link', [{ name: 'a', content: 'x' }, { name: 'b', type: 'link', linkname: 'a' }], /'b' is a hard link; pack with `tar --hard-dereference`/],
    ['a character device', [{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }], /'null' is a character-device/],
    ['a block device', [{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }], /'sda' is a block-device/],
    ['a fifo', [{ name: 'pipe', type: 'fifo' }], /'pipe' is a fifo/],
    ['the root as a file', [{ name: './', content: 'x' }], /names the root of the upload/],
    ['a name with control characters', [{ name: '/x\u001b[31m', content: 'x' }], /'\/x\\u001b\[31m' is an absolute path/]
  ]
  for (const [what, entries, message] of cases) {
    const { code, message: said } = await refusal(entries)
    t.equal(code, 'UPLOAD_UNSAFE', what)
    t.match(said, message, what)
  }
})

t.test('a symlink is checked where it leads through the other symlinks of the tar, whatever their order', async (t) => {
  const link = (name: string, linkname: string): TarEntrySpec => ({ name, type: 'symlink', linkname })
  // Each link alone reads as staying inside: a/y -> .. lands at the root, a/x -> y/../.. at the root too.
  const cases: [string, TarEntrySpec[], RegExp][] = [
    ['a chain, its first link first', [link('a/y', '..'), link('a/x', 'y/../..')], /'a\/x' is a symlink leading out of the upload \(to 'y\/..\/..', through 'a\/y'\)/],
    ['a chain, its first link last, changing where the earlier one leads', [link('a/x', 'y/../..'), link('a/y', '..')], /'a\/x' is a symlink leading out of the upload \(to 'y\/..\/..', through 'a\/y'\)/],
    ['a link to a link of another folder', [link('l1', '.'), link('d/l2', '../l1/..')], /'d\/l2' is a symlink leading out .* through 'l1'/],
    ['a link whose own folder is a later link', [link('a/b/x', '../../z'), link('a', '.')], /'a\/b\/x' is a symlink leading out .* through 'a'/],
    ['a loop', [link('a', 'b'), link('b', 'a')], /'a' is a symlink in a loop of symlinks/],
    ['a chain longer than the kernel follows', Array.from({ length: 41 }, (_, i) => link(`l${i}`, `l${i + 1}`)), /'l0' is a symlink through more than 40 symlinks/]
  ]
  for (const [what, entries, message] of cases) {
    const { code, message: said } = await refusal(entries)
    t.equal(code, 'UPLOAD_UNSAFE', what)
    t.match(said, message, what)
  }

  const { entries } = await read(
    await tarGz([
      link('lib/libz.so', 'libz.so.1'),
      link('lib/libz.so.1', 'libz.so.1.3'),
      { name: 'lib/libz.so.1.3', content: 'elf' },
      link('bin/z', '../lib/libz.so'),
      link('node_modules/.bin/tool', '../tool/cli.js'),
      link('node_modules/tool/cli.js', '../../bin/z'),
      link('dangling', 'not/there/../yet'),
      link('here', '.')
    ])
  )
  t.equal(entries.length, 8, 'chains that stay inside, in any order, and links to nothing yet, are kept')
})

t.test('limits: entries, and what the gzip unpacks to (a gzip bomb)', async (t) => {
  const many = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, content: '' }))
  const tooMany = await refusal(many, { ...LIMITS, maxEntries: 10 })
  t.equal(tooMany.code, 'UPLOAD_TOO_LARGE')
  t.match(tooMany.message, /more than 10 entries.*\.dockerignore/)
  t.equal((await refusal(many.slice(0, 10), { ...LIMITS, maxEntries: 10 })).code, 'none', 'up to the limit is fine')

  const bomb = await tarGz([{ name: 'zeros', content: Buffer.alloc(20 * 1024 * 1024) }])
  t.ok(bomb.length < 100 * 1024, `20 MiB of zeros gzip to ${bomb.length} bytes`)
  const exploded = await refusal(bomb)
  t.equal(exploded.code, 'UPLOAD_TOO_LARGE')
  t.match(exploded.message, /unpacks to more than 10.5 MB \(SLIPWAY_CLONE_MAX_BYTES\)/)
})

t.test('what is not a gzipped tar is UPLOAD_INVALID', async (t) => {
  const good = await tarGz([{ name: 'Dockerfile', content: 'FROM busybox\n' }])
  const cases: [string, Buffer, RegExp][] = [
    ['an empty body', Buffer.alloc(0), /not gzipped data/],
    ['plain text', Buffer.from('hello, this is not gzip'), /not gzipped data \(incorrect header check\)/],
    ['a tar that is not gzipped', Buffer.alloc(1024), /not gzipped data/],
    ['gzipped text', gzipSync('just some text, not a tar, but long enough '.repeat(20)), /gzipped but not a tar/],
    ['a cut-off gzip', good.subarray(0, good.length - 30), /not gzipped data|gzipped but not a tar/]
  ]
  for (const [what, body, message] of cases) {
    const { code, message: said } = await refusal(body)
    t.equal(code, 'UPLOAD_INVALID', what)
    t.match(said, message, what)
  }
  t.equal((await refusal(gzipSync(Buffer.alloc(1024)))).code, 'none', 'an empty tar (two zero blocks) is a tar')
})
