import { Readable } from 'node:stream'
import Docker from 'dockerode'
import t from 'tap'
import tar from 'tar-stream'
import { filesDeletedLater } from '../../../workers/insight/layer-files.js'
import { chunked, dir, file, hardlink, opaque, saveArchive, symlink, tarOf, whiteout, type SaveOptions, type TarEntry } from '../../helpers/docker-save.js'

const analyse = async (options: SaveOptions, limits?: { minBytes?: number; maxFindings?: number }) => filesDeletedLater(chunked(await saveArchive(options)), limits)

// ---------------------------------------------------------------------------------------------
// Unit tests

t.test('a whiteout in a later layer: the bytes stay in the earlier one', async (t) => {
  const result = await analyse({
    layers: [
      [dir('app'), file('app/big.bin', 1000), file('app/keep.txt', 10)],
      [dir('app'), whiteout('app/big.bin')]
    ]
  })
  t.same(result.findings, [{ path: '/app/big.bin', bytes: 1000, addedInHistoryIndex: 0, deletedInHistoryIndex: 1 }])
  t.equal(result.wastedBytes, 1000)
})

t.test('a whiteout of a folder deletes everything under it', async (t) => {
  const result = await analyse({
    layers: [[dir('d'), file('d/x', 5), dir('d/e'), file('d/e/y', 7), file('dx', 11)], [whiteout('d')]]
  })
  t.same(
    result.findings.map((finding) => [finding.path, finding.bytes, finding.deletedInHistoryIndex]),
    [
      ['/d/e/y', 7, 1],
      ['/d/x', 5, 1]
    ]
  )
  t.equal(result.wastedBytes, 12, '/dx shares a prefix with /d but survives')
})

t.test('an opaque folder hides everything earlier under it, not what its own layer adds', async (t) => {
  const result = await analyse({
    layers: [
      [dir('cache'), file('cache/a', 300), dir('cache/sub'), file('cache/sub/b', 200), file('cachex', 50)],
      [dir('cache'), opaque('cache'), file('cache/new', 40)],
      [file('other', 1)]
    ]
  })
  t.same(result.findings, [
    { path: '/cache/a', bytes: 300, addedInHistoryIndex: 0, deletedInHistoryIndex: 1 },
    { path: '/cache/sub/b', bytes: 200, addedInHistoryIndex: 0, deletedInHistoryIndex: 1 }
  ])
  t.equal(result.wastedBytes, 500)
})

t.test('an overwrite wastes the earlier copy, and so does replacing a folder with a link', async (t) => {
  const result = await analyse({
    layers: [
      [dir('etc'), file('etc/app.conf', 400), dir('opt'), dir('opt/tool'), file('opt/tool/bin', 100)],
      [dir('etc'), file('etc/app.conf', 20), dir('opt'), symlink('opt/tool', '/usr/lib/tool')]
    ]
  })
  t.same(result.findings, [
    { path: '/etc/app.conf', bytes: 400, addedInHistoryIndex: 0, deletedInHistoryIndex: 1 },
    { path: '/opt/tool/bin', bytes: 100, addedInHistoryIndex: 0, deletedInHistoryIndex: 1 }
  ])
  t.equal(result.wastedBytes, 500, 'the new copy of app.conf is what the image shows')
})

t.test('a file deleted and added again: the first copy is wasted where it was deleted, the second only if hidden later', async (t) => {
  const result = await analyse({
    layers: [[file('f', 100)], [whiteout('f')], [file('f', 60)], [file('f', 70)], [whiteout('g')]]
  })
  t.same(result.findings, [
    { path: '/f', bytes: 100, addedInHistoryIndex: 0, deletedInHistoryIndex: 1 },
    { path: '/f', bytes: 60, addedInHistoryIndex: 2, deletedInHistoryIndex: 3 }
  ])
  t.equal(result.wastedBytes, 160)
})

t.test('hard links: bytes counted once, and only when every name is gone', async (t) => {
  const result = await analyse({
    layers: [
      [file('a', 500), hardlink('b', 'a'), file('c', 300), hardlink('d', 'c'), hardlink('e', 'c')],
      [whiteout('a'), whiteout('c'), whiteout('e')],
      [whiteout('d')]
    ]
  })
  t.same(result.findings, [{ path: '/c', bytes: 300, addedInHistoryIndex: 0, deletedInHistoryIndex: 2 }], '/a lives on as /b; /c is gone once /d is')
  t.equal(result.wastedBytes, 300)
})

t.test('history indexes count empty_layer entries', async (t) => {
  const history = [
    { created_by: 'ADD rootfs.tar /' },
    { created_by: 'CMD ["sh"]', empty_layer: true },
    { created_by: 'ENV A=1', empty_layer: true },
    { created_by: 'RUN make' },
    { created_by: 'LABEL x=y', empty_layer: true },
    { created_by: 'RUN rm -rf /build' },
    { created_by: 'USER app', empty_layer: true }
  ]
  const result = await analyse({
    history,
    layers: [[dir('usr'), file('usr/base', 9)], [dir('build'), file('build/out.o', 2048)], [whiteout('build'), whiteout('usr/base')]]
  })
  t.same(result.findings, [
    { path: '/build/out.o', bytes: 2048, addedInHistoryIndex: 3, deletedInHistoryIndex: 5 },
    { path: '/usr/base', bytes: 9, addedInHistoryIndex: 0, deletedInHistoryIndex: 5 }
  ])
})

t.test('history shorter than the layers: the newest layers keep their steps, the rest get -1', async (t) => {
  const result = await analyse({
    history: [{ created_by: 'RUN one' }, { created_by: 'ENV A=1', empty_layer: true }, { created_by: 'RUN two' }],
    layers: [[file('old', 4)], [whiteout('old'), file('mid', 3)], [whiteout('mid')]]
  })
  t.same(result.findings, [
    { path: '/old', bytes: 4, addedInHistoryIndex: -1, deletedInHistoryIndex: 0 },
    { path: '/mid', bytes: 3, addedInHistoryIndex: 0, deletedInHistoryIndex: 2 }
  ])
})

t.test('minBytes and maxFindings trim the findings, not wastedBytes', async (t) => {
  const sizes = [5, 1, 400, 0, 30, 9, 250, 12]
  const layers = [sizes.map((size, index) => file(`f${index}`, size)), sizes.map((_, index) => whiteout(`f${index}`))]
  const all = await analyse({ layers })
  t.same(
    all.findings.map((finding) => finding.bytes),
    [400, 250, 30, 12, 9, 5, 1],
    'by default everything of at least 1 byte, largest first'
  )
  t.equal(all.wastedBytes, 707)

  const trimmed = await analyse({ layers }, { minBytes: 10, maxFindings: 2 })
  t.same(
    trimmed.findings.map((finding) => finding.path),
    ['/f2', '/f6']
  )
  t.equal(trimmed.wastedBytes, 707)
  const fewer = await analyse({ layers }, { minBytes: 100 })
  t.same(
    fewer.findings.map((finding) => finding.bytes),
    [400, 250]
  )
  const none = await analyse({ layers }, { maxFindings: 0 })
  t.same(none.findings, [])
  t.equal(none.wastedBytes, 707)

  const many = await analyse({ layers: [Array.from({ length: 30 }, (_, index) => file(`m${index}`, 100 + index)), [whiteout('m0'), ...Array.from({ length: 29 }, (_, index) => whiteout(`m${index + 1}`))]] })
  t.equal(many.findings.length, 20, 'at most 20 by default')
  t.equal(many.findings[0]?.path, '/m29')
  t.equal(many.wastedBytes, Array.from({ length: 30 }, (_, index) => 100 + index).reduce((a, b) => a + b))
})

t.test('Docker 20.10 saves a layer met twice as a symlink to the first copy', async (t) => {
  // COPY a.txt, RUN rm a.txt, COPY a.txt again: the third layer is byte-identical to the first.
  const result = await analyse({ layers: [[file('a.txt', 6)], [whiteout('a.txt')], [file('a.txt', 6)]], symlinks: { 2: 0 } })
  t.same(result.findings, [{ path: '/a.txt', bytes: 6, addedInHistoryIndex: 0, deletedInHistoryIndex: 1 }])
})

t.test('the OCI layout of newer engines, gzip-compressed layers included', async (t) => {
  const result = await analyse({
    layout: 'oci',
    gzip: [1],
    layers: [[dir('srv'), file('srv/data', 777)], [dir('srv'), file('srv/data', 3), file('tmp.bin', 4096)], [whiteout('tmp.bin')], []]
  })
  t.same(result.findings, [
    { path: '/tmp.bin', bytes: 4096, addedInHistoryIndex: 1, deletedInHistoryIndex: 2 },
    { path: '/srv/data', bytes: 777, addedInHistoryIndex: 0, deletedInHistoryIndex: 1 }
  ])
})

t.test('takes a Node stream too, and the manifest may come first', async (t) => {
  const archive = await saveArchive({ layers: [[file('x', 10)], [whiteout('x')]] })
  // Move manifest.json (and the rest of the small entries) to the front.
  const entries: TarEntry[] = []
  const extract = tar.extract()
  const reading = (async () => {
    for await (const entry of extract) {
      const parts: Buffer[] = []
      for await (const chunk of entry) parts.push(chunk as Buffer)
      entries.push({ header: entry.header, content: entry.header.type === 'file' ? Buffer.concat(parts) : undefined })
    }
  })()
  extract.end(archive)
  await reading
  entries.sort((a, b) => Number(b.header.name === 'manifest.json') - Number(a.header.name === 'manifest.json'))
  t.equal(entries[0]?.header.name, 'manifest.json')
  const result = await filesDeletedLater(Readable.from(await tarOf(entries)))
  t.same(result.findings, [{ path: '/x', bytes: 10, addedInHistoryIndex: 0, deletedInHistoryIndex: 1 }])
})

t.test('an image without waste', async (t) => {
  t.same(await analyse({ layers: [[dir('bin'), file('bin/sh', 100)], [dir('bin'), hardlink('bin/ash', 'bin/sh'), symlink('bin/ls', 'sh')], []] }), { findings: [], wastedBytes: 0 })
})

t.test('archives that are not a whole image are errors', async (t) => {
  const noManifest = await tarOf([{ header: { name: 'abc/layer.tar' }, content: await tarOf([file('x', 1)]) }])
  await t.rejects(filesDeletedLater(chunked(noManifest)), /no manifest\.json/)

  const missingLayer = await tarOf([{ header: { name: 'manifest.json' }, content: Buffer.from(JSON.stringify([{ Config: 'c.json', Layers: ['gone/layer.tar'] }])) }])
  await t.rejects(filesDeletedLater(chunked(missingLayer)), /gone\/layer\.tar/)

  const archive = await saveArchive({ layers: [[file('x', 10_000)], [whiteout('x')]] })
  await t.rejects(filesDeletedLater(chunked(archive.subarray(0, 6000))), 'a cut-off stream')

  async function * failing (): AsyncIterable<Buffer> {
    yield archive.subarray(0, 2000)
    throw new Error('socket hang up')
  }
  await t.rejects(filesDeletedLater(failing()), /socket hang up/)
})

// ---------------------------------------------------------------------------------------------
// Against the real engine

const docker = new Docker()

async function engineUp (): Promise<boolean> {
  try {
    await docker.ping()
    await docker.getImage('busybox:latest').inspect()
    return true
  } catch {
    return false
  }
}

/** Builds a context of `files` with the classic builder; resolves with the image id. */
async function build (files: Record<string, string>): Promise<string> {
  const context = await tarOf(Object.entries(files).map(([name, content]) => ({ header: { name, mode: 0o644 }, content: Buffer.from(content) })))
  const stream = await docker.buildImage(Readable.from([context]), { rm: true, forcerm: true })
  const messages = await new Promise<{ error?: string; aux?: { ID?: string } }[]>((resolve, reject) => docker.modem.followProgress(stream, (error, output) => (error ? reject(error) : resolve(output))))
  const failed = messages.find((message) => message.error)
  if (failed) throw new Error(failed.error)
  const id = messages.find((message) => message.aux?.ID)?.aux?.ID
  if (!id) throw new Error('The build reported no image id.')
  return id
}

/** Oldest-first position in `docker history` of the first step whose command includes `text`. */
async function historyIndex (id: string, text: string): Promise<number> {
  const history = ((await docker.getImage(id).history()) as { CreatedBy: string }[]).slice().reverse()
  return history.findIndex((entry) => entry.CreatedBy.includes(text))
}

const skipEngine = (await engineUp()) ? false : 'Docker or busybox:latest is not available'

t.test('integration: files deleted later in an image the engine built', { skip: skipEngine }, async (t) => {
  const aText = 'a'.repeat(5000)
  const id = await build({
    Dockerfile: ['FROM busybox', 'RUN head -c 3000000 /dev/urandom > /big.bin', 'ENV X=1', 'RUN rm /big.bin && echo small > /small.txt', 'COPY a.txt /a.txt', 'RUN rm /a.txt', ''].join('\n'),
    'a.txt': aText
  })
  t.teardown(() => docker.getImage(id).remove({ force: true, noprune: false }).catch(() => undefined))

  const started = performance.now()
  const result = await filesDeletedLater(await docker.getImage(id).get())
  t.comment(`filesDeletedLater on the built image: ${(performance.now() - started).toFixed(0)} ms`)

  const created = await historyIndex(id, 'head -c 3000000')
  const removed = await historyIndex(id, 'rm /big.bin')
  const copied = await historyIndex(id, 'in /a.txt')
  const removedA = await historyIndex(id, 'rm /a.txt')
  t.ok(created > 0 && removed > created && copied > removed && removedA > copied, `history steps found (${created}, ${removed}, ${copied}, ${removedA})`)
  t.equal(removed - created, 2, 'the ENV between them is an empty_layer history entry, counted')

  t.same(result.findings, [
    { path: '/big.bin', bytes: 3_000_000, addedInHistoryIndex: created, deletedInHistoryIndex: removed },
    { path: '/a.txt', bytes: aText.length, addedInHistoryIndex: copied, deletedInHistoryIndex: removedA }
  ])
  t.notOk(
    result.findings.some((finding) => finding.path === '/small.txt'),
    '/small.txt stays'
  )
  t.equal(result.wastedBytes, 3_000_000 + aText.length)
})

t.test('integration: a layer saved twice (as a symlink) and a file added back', { skip: skipEngine }, async (t) => {
  const id = await build({
    Dockerfile: ['FROM busybox', 'COPY a.txt /a.txt', 'RUN rm /a.txt', 'COPY a.txt /a.txt', ''].join('\n'),
    'a.txt': 'hello again\n'
  })
  t.teardown(() => docker.getImage(id).remove({ force: true }).catch(() => undefined))

  const result = await filesDeletedLater(await docker.getImage(id).get())
  const history = ((await docker.getImage(id).history()) as { CreatedBy: string }[]).slice().reverse()
  const copies = history.flatMap((entry, index) => (entry.CreatedBy.includes('in /a.txt') ? [index] : []))
  t.equal(copies.length, 2)
  t.same(result.findings, [{ path: '/a.txt', bytes: 12, addedInHistoryIndex: copies[0], deletedInHistoryIndex: await historyIndex(id, 'rm /a.txt') }])
  t.equal(result.wastedBytes, 12)
})
