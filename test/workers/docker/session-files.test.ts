import { EventEmitter } from 'node:events'
import { finished } from 'node:stream/promises'
import * as grpc from '@grpc/grpc-js'
import t from 'tap'
import type { StreamMethod } from '../../../workers/docker/buildkit-session.js'
import { inWalkOrder, selectEntries, syncedFolders, type SyncedEntry, type SyncedFolder } from '../../../workers/docker/session-files.js'

// The session's FileSync service without an engine: the order and choice of what it sends, and
// the packets of one transfer. Builds that read their context through it against a real engine
// are in test/integration/context-session.test.ts (and every other BuildKit build of the suite).

const file = (path: string, mode = 0o644, size = 1): SyncedEntry => ({ path, type: 'file', mode, size })
const dir = (path: string): SyncedEntry => ({ path, type: 'directory', mode: 0o755, size: 0 })
const link = (path: string, linkname: string): SyncedEntry => ({ path, type: 'symlink', mode: 0o777, size: 0, linkname })
const paths = (entries: SyncedEntry[]) => entries.map((entry) => entry.path)

t.test('entries go in the order of fsutil\'s walk: "/" below every byte, folders first, missing folders added', async (t) => {
  const ordered = inWalkOrder([file('a.b'), file('a-b'), file('a/c'), dir('a'), file('b/x/y'), file('B'), file('é'), file('z')])
  t.same(paths(ordered), ['B', 'a', 'a/c', 'a-b', 'a.b', 'b', 'b/x', 'b/x/y', 'z', 'é'])
  t.match(ordered.find((entry) => entry.path === 'b/x'), { type: 'directory', mode: 0o755 }, 'an added folder is a plain folder')
})

const tree = inWalkOrder([
  file('Dockerfile'), file('.dockerignore'), file('package.json'), file('tsconfig.json'),
  file('src/a.ts'), file('src/deep/b.ts'), file('src/x.txt'), file('lib/c.js'),
  link('app', 'src'), link('escape', '/etc'), link('climb', '../../..'),
  file('node_modules/m/index.js'), file('debug.log'), file('docs/guide.md'), file('docs/keep.md')
])
const none = { include: [], exclude: [], follow: [] }

t.test('with nothing asked for, everything is sent', async (t) => {
  t.same(paths(selectEntries(tree, none)), paths(tree))
})

t.test('followed paths send only what they reach', async (t) => {
  t.same(paths(selectEntries(tree, { ...none, follow: ['Dockerfile', 'Dockerfile.dockerignore', 'dockerfile'] })), ['Dockerfile'], 'the Dockerfile alone')
  t.same(paths(selectEntries(tree, { ...none, follow: ['src'] })), ['src', 'src/a.ts', 'src/deep', 'src/deep/b.ts', 'src/x.txt'], 'a folder, whole')
  t.same(paths(selectEntries(tree, { ...none, follow: ['*.json'] })), ['package.json', 'tsconfig.json'], 'a wildcard stops at "/"')
  t.same(paths(selectEntries(tree, { ...none, follow: ['src/*.ts'] })), ['src', 'src/a.ts'], 'a wildcard under a folder')
  t.same(paths(selectEntries(tree, { ...none, follow: ['app/x.txt'] })), ['app', 'src', 'src/x.txt'], 'a symlink on the way is sent with its target')
  t.same(paths(selectEntries(tree, { ...none, follow: ['.'] })), paths(tree), '"." is all of it')
})

t.test('a symlink leading out of the folder leads to nothing outside it', async (t) => {
  t.same(paths(selectEntries(tree, { ...none, follow: ['escape/passwd'] })), ['escape'], 'an absolute target is read from the folder\'s root, which has no etc/')
  t.same(paths(selectEntries(tree, { ...none, follow: ['climb/etc/passwd'] })), ['climb'], 'a target climbing out stops at the root')
})

t.test('exclude patterns drop what .dockerignore drops, and keep a folder an exception looks into', async (t) => {
  const sent = paths(selectEntries(tree, { ...none, exclude: ['node_modules', '*.log', 'docs', '!docs/keep.md'] }))
  t.notOk(sent.some((path) => path.startsWith('node_modules')), 'an excluded folder is skipped whole')
  t.notOk(sent.includes('debug.log'))
  t.ok(sent.includes('docs') && sent.includes('docs/keep.md'), 'the exception and its folder')
  t.notOk(sent.includes('docs/guide.md'), 'but not the rest of that folder')
  t.ok(sent.includes('src/deep/b.ts'))
})

/** A receiver as BuildKit's fsutil.Receive behaves, over a fake call: stats, then a request for each file. */
async function transfer (folder: SyncedFolder, wanted: (stat: { path: string }) => boolean, onError = (_error: Error) => {}) {
  const method = syncedFolders({ context: folder }, onError) as StreamMethod<unknown, unknown>
  const call = new EventEmitter() as EventEmitter & Record<string, unknown>
  const metadata = new grpc.Metadata()
  metadata.set('dir-name', 'context')
  const sent: { type: number, stat?: { path: string, mode: number, size: number, linkname: string } | null, ID?: number, data?: Buffer }[] = []
  let ended = false
  const done = new Promise<void>((resolve) => { call.end = () => { ended = true; resolve() } })
  Object.assign(call, { metadata, write: (packet: (typeof sent)[number]) => { sent.push(packet); setImmediate(() => answer(packet)); return true } })
  let id = 0
  let asked = 0
  let received = 0
  const answer = (packet: (typeof sent)[number]) => {
    if (packet.type === 0 && packet.stat) {
      if (packet.stat.mode < 2 ** 27 && wanted(packet.stat)) {
        asked++
        call.emit('data', { type: 1, ID: id })
      }
      id++
    } else if (packet.type === 0 && asked === 0) {
      call.emit('data', { type: 3 })
    } else if (packet.type === 2 && !packet.data?.length && ++received === asked) {
      call.emit('data', { type: 3 })
    }
  }
  method.serve(call as never)
  await done
  return { sent, ended }
}

const memory = (files: Record<string, Buffer>, extra: SyncedEntry[] = []): SyncedFolder => ({
  entries: [...Object.entries(files).map(([path, bytes]) => file(path, path.endsWith('.sh') ? 0o4755 : 0o644, bytes.length)), ...extra],
  mtime: new Date('2026-01-02T03:04:05.678Z'),
  copy: async (entry, into) => {
    into.end(files[entry.path])
    await finished(into)
  }
})

t.test('a transfer: stats in walk order with Go modes, the bytes of each file asked for in 32 KiB pieces, then FIN', async (t) => {
  const big = Buffer.alloc(70 * 1024, 7)
  const { sent, ended } = await transfer(memory({ 'run.sh': Buffer.from('#!/bin/sh\n'), 'data/big.bin': big }, [link('current', 'data')]), () => true)
  const stats = sent.filter((packet) => packet.type === 0 && packet.stat).map((packet) => packet.stat!)
  t.same(stats.map((stat) => stat.path), ['current', 'data', 'data/big.bin', 'run.sh'])
  t.match(stats[0], { mode: 2 ** 27 + 0o777, linkname: 'data', size: 4 }, 'a symlink: ModeSymlink, its target and its length')
  t.match(stats[1], { mode: 2 ** 31 + 0o755 }, 'a folder: ModeDir')
  t.match(stats[3], { mode: 2 ** 23 + 0o755, size: 10 }, 'setuid: ModeSetuid')
  t.equal(String((stats[0] as unknown as { modTime: string }).modTime), '1767323045678000000', 'the time in nanoseconds, exact')
  const pieces = sent.filter((packet) => packet.type === 2 && packet.ID === 2)
  t.same(pieces.map((packet) => packet.data?.length ?? 0), [32768, 32768, 6144, 0], 'a large file in pieces, an empty one ending it')
  t.same(Buffer.concat(pieces.map((packet) => packet.data ?? Buffer.alloc(0))), big)
  t.same(sent.at(-1), { type: 3 }, 'FIN answers FIN')
  t.ok(ended)
})

t.test('only the files asked for are read: what the engine kept is not sent again', async (t) => {
  const { sent } = await transfer(memory({ 'a.txt': Buffer.from('a'), 'b.txt': Buffer.from('b') }), (stat) => stat.path === 'b.txt')
  t.same(sent.filter((packet) => packet.type === 2 && packet.data?.length).map((packet) => String(packet.data)), ['b'])
})

t.test('a file that cannot be read ends the transfer with an error the build hears of', async (t) => {
  const errors: Error[] = []
  const folder = { ...memory({ 'a.txt': Buffer.from('a') }), copy: async () => { throw new Error('object 1234 is missing') } }
  const { sent } = await transfer(folder, () => true, (error) => errors.push(error))
  t.match(sent.at(-1), { type: 4 })
  t.equal(String(sent.at(-1)?.data), 'object 1234 is missing')
  t.equal(errors[0]?.message, 'object 1234 is missing')
})

t.test('a folder the build was not given is NOT_FOUND', async (t) => {
  const method = syncedFolders({ context: memory({}) }, () => {}) as StreamMethod<unknown, unknown>
  const call = new EventEmitter() as EventEmitter & Record<string, unknown>
  const metadata = new grpc.Metadata()
  metadata.set('dir-name', 'home')
  call.metadata = metadata
  const error = new Promise((resolve) => call.once('error', resolve))
  method.serve(call as never)
  t.match(await error, { code: grpc.status.NOT_FOUND, message: 'no access allowed to dir "home"' })
})
