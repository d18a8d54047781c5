import { symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import t from 'tap'
import { UsageError } from '../../src/cli/exit-codes.js'
import { packDir } from '../../src/cli/pack-dir.js'
import { readTar, tempFolder } from '../helpers/files.js'

const signal = new AbortController().signal

/** The entries of a gzipped tar as name → content (files), "-> target" (symlinks) or type (others). */
async function unpack (archive: Readable): Promise<Record<string, string>> {
  const entries = await readTar(archive.pipe(createGunzip()))
  return Object.fromEntries(
    entries.map(({ header, content }) => [header.name, header.type === 'file' ? content : header.type === 'symlink' ? `-> ${header.linkname}` : header.type])
  )
}

t.test('the tar is the folder minus .git and what .dockerignore excludes; .dockerignore and the Dockerfile always travel', async (t) => {
  const dir = await tempFolder(t, {
    Dockerfile: 'FROM busybox\n',
    '.dockerignore': '.dockerignore\nDockerfile\n**/*.log\nnode_modules\nsecrets/\n!secrets/public.pem\n',
    'app/main.sh': 'echo hi\n',
    'app/debug.log': 'noise\n',
    'node_modules/left-pad/index.js': 'pad\n',
    'secrets/private.key': 'key\n',
    'secrets/public.pem': 'pem\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.git/config': '[core]\n',
    'docs/.git': 'gitdir: ../.git/modules/docs\n'
  })
  await symlink('app/main.sh', path.join(dir, 'run.sh'))
  const packed = await packDir(dir, { signal })
  const entries = await unpack(packed.archive)
  const expected = {
    '.dockerignore': '.dockerignore\nDockerfile\n**/*.log\nnode_modules\nsecrets/\n!secrets/public.pem\n',
    Dockerfile: 'FROM busybox\n',
    app: 'directory',
    'app/main.sh': 'echo hi\n',
    docs: 'directory',
    'docs/.git': 'gitdir: ../.git/modules/docs\n',
    'run.sh': '-> app/main.sh',
    'secrets/public.pem': 'pem\n'
  }
  t.same(entries, expected, 'only the root .git is left out; an excluded folder is walked for its exceptions')
  const files = [expected['.dockerignore'], expected.Dockerfile, expected['app/main.sh'], expected['docs/.git'], expected['secrets/public.pem']]
  t.equal(packed.files, files.length, 'the files are counted')
  t.equal(packed.bytes, files.join('').length, 'and their bytes')
})

t.test('a context folder keeps its own .dockerignore and a Dockerfile elsewhere, though the root one excludes them', async (t) => {
  const dir = await tempFolder(t, {
    '.dockerignore': 'services/api/.dockerignore\ndocker\n',
    'services/api/.dockerignore': 'tmp\n',
    'services/api/server.js': 'serve()\n',
    'docker/api.Dockerfile': 'FROM busybox\n',
    'docker/other.Dockerfile': 'FROM busybox\n'
  })
  const entries = await unpack((await packDir(dir, { context: 'services/api', dockerfile: 'docker/api.Dockerfile', signal })).archive)
  t.same(Object.keys(entries).sort(), ['.dockerignore', 'docker/api.Dockerfile', 'services', 'services/api', 'services/api/.dockerignore', 'services/api/server.js'])
})

t.test('a symlink leading out of the folder, or nowhere, is refused unless .dockerignore leaves it out', async (t) => {
  for (const [name, target] of [
    ['absolute', '/etc/passwd'],
    ['climbing', '../outside'],
    ['through-a-link', 'here/..'],
    ['dangling', 'missing.txt']
  ]) {
    const dir = await tempFolder(t, { Dockerfile: 'FROM busybox\n', 'sub/file': 'x' })
    await symlink('.', path.join(dir, 'here'))
    await symlink(target!, path.join(dir, 'sub', name!))
    const refused = await packDir(dir, { signal }).catch((error: unknown) => error)
    t.ok(refused instanceof UsageError, `${name} -> ${target} is refused`)
    t.match((refused as Error).message, `sub/${name} is a symlink to '${target}'`)

    await writeFile(path.join(dir, '.dockerignore'), `sub/${name}\n`)
    t.notOk('sub/' + name in (await unpack((await packDir(dir, { signal })).archive)), 'once ignored, it is not looked at')
  }
})

t.test('a path that is not a folder is a usage error', async (t) => {
  const dir = await tempFolder(t, { file: 'x' })
  await t.rejects(packDir(path.join(dir, 'file'), { signal }), UsageError)
  await t.rejects(packDir(path.join(dir, 'nothing'), { signal }), /is not a folder/)
})

t.test("variants' Dockerfiles travel too, though .dockerignore excludes them", async (t) => {
  const dir = await tempFolder(t, { '.dockerignore': 'Dockerfile*\n', Dockerfile: 'FROM busybox\n', 'Dockerfile.slim': 'FROM busybox\n', 'Dockerfile.old': 'FROM busybox\n' })
  const entries = await unpack((await packDir(dir, { variantDockerfiles: ['Dockerfile.slim'], signal })).archive)
  t.same(Object.keys(entries).sort(), ['.dockerignore', 'Dockerfile', 'Dockerfile.slim'])
})
