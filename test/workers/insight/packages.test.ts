import { execFile } from 'node:child_process'
import { createReadStream, existsSync } from 'node:fs'
import { promisify } from 'node:util'
import Docker from 'dockerode'
import t from 'tap'
import type { ImagePackage } from '../../../src/domain/sbom/image-package.js'
import { scanImagePackages } from '../../../workers/insight/packages.js'
import { goBuildInfoKeeper, goModules } from '../../../workers/insight/packages/go-buildinfo.js'
import { chunked, dir, fileWith, opaque, saveArchive, whiteout, type TarEntry } from '../../helpers/docker-save.js'

// ---------------------------------------------------------------------------------------------
// A synthetic image with every kind of package database

const stanza = (name: string, version: string, status = 'install ok installed') => `Package: ${name}\nStatus: ${status}\nArchitecture: amd64\nVersion: ${version}\nDescription: ${name}\n two lines\n`
const dpkgStatus = (...stanzas: string[]) => fileWith('var/lib/dpkg/status', stanzas.join('\n'))
const packageJson = (folder: string, manifest: object) => fileWith(`${folder}/package.json`, JSON.stringify(manifest))
const uvarint = (value: number): Buffer => {
  const bytes: number[] = []
  for (; value >= 0x80; value = Math.floor(value / 0x80)) bytes.push((value & 0x7f) | 0x80)
  bytes.push(value)
  return Buffer.from(bytes)
}

/**
 * An executable holding Go 1.18+ build information, laid out as src/debug/buildinfo/buildinfo.go
 * reads it: the 32-byte header (magic, pointer size, flags with 2 = inline strings), then the Go
 * version and the module information as uvarint-length strings, the latter between the 16-byte
 * sentinels of cmd/go/internal/modload (modInfoStart, modInfoEnd). Before it: other bytes,
 * including the magic as plain data (the go command carries it so), which must not fool the scan.
 */
function goBinary (modinfo: string, flags = 2): Buffer {
  const magic = Buffer.from('\xff Go buildinf:', 'latin1')
  const header = Buffer.concat([magic, Buffer.from([8, flags]), Buffer.alloc(16)])
  const wrapped = Buffer.concat([Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex'), Buffer.from(modinfo), Buffer.from('f932433186182072008242104116d8f2', 'hex')])
  const version = Buffer.from('go1.22.1')
  return Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(70_000, 0x90), magic, Buffer.from('not a header'), Buffer.alloc(4000 - 12 - magic.length, 0), header, uvarint(version.length), version, uvarint(wrapped.length), wrapped, Buffer.alloc(5000, 0xcc)])
}

const modinfo = ['path\texample.com/app/cmd/app', 'mod\texample.com/app\t(devel)\t', 'dep\tgithub.com/foo/bar\tv1.2.3+incompatible\th1:abc=', 'dep\tgolang.org/x/text\tv0.3.0\th1:def=', '=>\tgithub.com/fork/text\tv0.3.1\th1:ghi=', 'dep\texample.com/local\tv0.0.0', '=>\t../local\t', 'build\t-compiler=gc', ''].join('\n')

const history = [
  { created_by: '/bin/sh -c #(nop) ADD file:rootfs in / ' },
  { created_by: '/bin/sh -c #(nop)  ENV LANG=C.UTF-8', empty_layer: true },
  { created_by: '/bin/sh -c apt-get install -y jq' },
  { created_by: '/bin/sh -c npm ci && pip install' },
  { created_by: '/bin/sh -c apt-get upgrade -y && apt-get purge libfoo' }
]
const layers: TarEntry[][] = [
  [
    dir('etc'),
    fileWith('etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'),
    dpkgStatus(stanza('base-files', '12.4+deb12u5'), stanza('curl', '7.88.1-10'), stanza('libfoo', '1:1.0-1'), stanza('oldpkg', '0.9', 'deinstall ok config-files')),
    fileWith('var/lib/dpkg/status.d/tzdata', 'Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n'),
    fileWith('var/lib/dpkg/status.d/tzdata.md5sums', 'abc  usr/share/zoneinfo/UTC\n')
  ],
  [dpkgStatus(stanza('base-files', '12.4+deb12u5'), stanza('curl', '7.88.1-10'), stanza('libfoo', '1:1.0-1'), stanza('jq', '1.6-2.1'))],
  [
    packageJson('app/node_modules/express', { name: 'express', version: '4.19.2', license: 'MIT' }),
    packageJson('app/node_modules/express/lib', { name: 'not-a-package', version: '1.0.0' }),
    packageJson('app/node_modules/express/node_modules/debug', { name: 'debug', version: '2.6.9', licenses: [{ type: 'MIT' }, 'Apache-2.0'] }),
    packageJson('app/node_modules/@scope/pkg', { name: '@scope/pkg', version: '1.0.0', license: { type: 'ISC' } }),
    packageJson('app/node_modules/left-pad', { name: 'left-pad', version: '1.3.0', license: 'WTFPL' }),
    packageJson('app/node_modules/no-version', { name: 'no-version' }),
    fileWith('usr/lib/python3/dist-packages/Flask_Login-0.6.3.dist-info/METADATA', 'Metadata-Version: 2.1\nName: Flask_Login\nVersion: 0.6.3\nLicense: MIT\nClassifier: License :: OSI Approved :: MIT License\n\nLicense: not a header\n'),
    fileWith('usr/lib/python3/dist-packages/six-1.16.0.egg-info', 'Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: MIT License\n'),
    fileWith('opt/venv/lib/site-packages/old-1.0.dist-info/METADATA', 'Name: old\nVersion: 1.0\n'),
    fileWith('lib/apk/db/installed', 'C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\nF:lib\nR:ld-musl-x86_64.so.1\n\nC:Q1def=\nP:busybox\nV:1.36.1-r5\nA:x86_64\nL:GPL-2.0-only\n\n'),
    fileWith('usr/local/bin/app', goBinary(modinfo), 0o755),
    fileWith('usr/local/bin/old-go', goBinary(modinfo, 0), 0o755),
    fileWith('usr/share/doc/app/buildinfo.bin', goBinary(modinfo), 0o644)
  ],
  [
    dpkgStatus(stanza('base-files', '12.4+deb12u5'), stanza('curl', '7.88.1-10+deb12u5'), stanza('jq', '1.6-2.1'), stanza('libfoo', '1:1.0-1', 'purge ok not-installed')),
    whiteout('app/node_modules/left-pad'),
    opaque('opt/venv/lib/site-packages'),
    fileWith('opt/venv/lib/site-packages/new-2.0.dist-info/METADATA', 'Name: new\nVersion: 2.0\nLicense-Expression: BSD-3-Clause\nLicense: BSD\n')
  ]
]

const pkg = (ecosystem: ImagePackage['ecosystem'], name: string, version: string, purl: string, license: string | null, historyIndex: number, path: string): ImagePackage => ({ ecosystem, name, version, purl, license, historyIndex, path })

t.test('a synthetic image: every ecosystem, layers lined up, hidden packages left out', async (t) => {
  for (const layout of ['docker', 'oci'] as const) {
    const { packages, os } = await scanImagePackages(chunked(await saveArchive({ layers, history, layout, gzip: [2] })))
    t.same(os, { id: 'debian', versionId: '12' }, layout)
    t.same(packages, [
      pkg('apk', 'busybox', '1.36.1-r5', 'pkg:apk/debian/busybox@1.36.1-r5?arch=x86_64&distro=debian-12', 'GPL-2.0-only', 3, '/lib/apk/db/installed'),
      pkg('apk', 'musl', '1.2.4-r2', 'pkg:apk/debian/musl@1.2.4-r2?arch=x86_64&distro=debian-12', 'MIT', 3, '/lib/apk/db/installed'),
      pkg('deb', 'base-files', '12.4+deb12u5', 'pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12', null, 0, '/var/lib/dpkg/status'),
      pkg('deb', 'curl', '7.88.1-10+deb12u5', 'pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12', null, 4, '/var/lib/dpkg/status'),
      pkg('deb', 'jq', '1.6-2.1', 'pkg:deb/debian/jq@1.6-2.1?arch=amd64&distro=debian-12', null, 2, '/var/lib/dpkg/status'),
      pkg('deb', 'tzdata', '2024a-0+deb12u1', 'pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12', null, 0, '/var/lib/dpkg/status.d/tzdata'),
      pkg('golang', 'example.com/app', '(devel)', 'pkg:golang/example.com/app@(devel)', null, 3, '/usr/local/bin/app'),
      pkg('golang', 'github.com/foo/bar', 'v1.2.3+incompatible', 'pkg:golang/github.com/foo/bar@v1.2.3%2Bincompatible', null, 3, '/usr/local/bin/app'),
      pkg('golang', 'github.com/fork/text', 'v0.3.1', 'pkg:golang/github.com/fork/text@v0.3.1', null, 3, '/usr/local/bin/app'),
      pkg('golang', 'example.com/local', 'v0.0.0', 'pkg:golang/example.com/local@v0.0.0', null, 3, '/usr/local/bin/app'),
      pkg('npm', '@scope/pkg', '1.0.0', 'pkg:npm/%40scope/pkg@1.0.0', 'ISC', 3, '/app/node_modules/@scope/pkg/package.json'),
      pkg('npm', 'debug', '2.6.9', 'pkg:npm/debug@2.6.9', '(MIT) OR (Apache-2.0)', 3, '/app/node_modules/express/node_modules/debug/package.json'),
      pkg('npm', 'express', '4.19.2', 'pkg:npm/express@4.19.2', 'MIT', 3, '/app/node_modules/express/package.json'),
      pkg('pypi', 'Flask_Login', '0.6.3', 'pkg:pypi/flask-login@0.6.3', 'MIT', 3, '/usr/lib/python3/dist-packages/Flask_Login-0.6.3.dist-info/METADATA'),
      pkg('pypi', 'new', '2.0', 'pkg:pypi/new@2.0', 'BSD-3-Clause', 4, '/opt/venv/lib/site-packages/new-2.0.dist-info/METADATA'),
      pkg('pypi', 'six', '1.16.0', 'pkg:pypi/six@1.16.0', 'MIT License', 3, '/usr/lib/python3/dist-packages/six-1.16.0.egg-info')
    ].sort((a, b) => (a.ecosystem + '\0' + a.name < b.ecosystem + '\0' + b.name ? -1 : 1)), layout)
  }
})

t.test('a package database deleted and written again: what it lists from then on counts from that layer', async (t) => {
  const { packages, os } = await scanImagePackages(
    chunked(
      await saveArchive({
        layers: [
          [fileWith('lib/apk/db/installed', 'P:musl\nV:1.2.4-r2\nA:x86_64\n\nP:zlib\nV:1.3-r0\nA:x86_64\n')],
          [whiteout('lib/apk')],
          [fileWith('lib/apk/db/installed', 'P:musl\nV:1.2.4-r2\nA:x86_64\n'), fileWith('usr/lib/os-release', 'ID="alpine"\nVERSION_ID=3.18.4\n')]
        ]
      })
    )
  )
  t.same(os, { id: 'alpine', versionId: '3.18.4' }, '/usr/lib/os-release when /etc has none')
  t.same(
    packages.map((found) => [found.purl, found.historyIndex]),
    [['pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4', 2]]
  )
})

t.test('files over the cap: Python metadata is read from its start, anything else is left out', async (t) => {
  const long = 'x'.repeat(1024 * 1024 + 10)
  const { packages } = await scanImagePackages(
    chunked(
      await saveArchive({
        layers: [
          [
            fileWith('usr/lib/python3/site-packages/big-1.0.dist-info/METADATA', `Name: big\nVersion: 1.0\n\n${long}`),
            packageJson('app/node_modules/huge', { name: 'huge', version: '1.0.0', description: long })
          ]
        ]
      }),
      64 * 1024
    )
  )
  t.same(packages.map((found) => found.purl), ['pkg:pypi/big@1.0'])
})

// An image is untrusted input: a Dockerfile can fill one with as much package metadata as it likes.
t.test('attack: an image made of package metadata cannot make the worker hold it all', async (t) => {
  const manifest = (i: number) => packageJson(`app/node_modules/pkg-${i}`, { name: `pkg-${i}`, version: '1.0.0', description: 'x'.repeat(900_000) })
  const archive = await saveArchive({ layers: [Array.from({ length: 40 }, (_, i) => manifest(i))] })
  await t.rejects(
    scanImagePackages(chunked(archive, 64 * 1024), { keptBytes: 8 * 1024 * 1024, packages: 10_000 }),
    { message: /holds more package metadata than the scan keeps \(8.39 MB\)/ },
    '36 MB of package.json files against an 8 MiB budget'
  )
  const go = Array.from({ length: 30 }, (_, i) => fileWith(`usr/bin/tool-${i}`, goBinary(modinfo), 0o755))
  await t.rejects(scanImagePackages(chunked(await saveArchive({ layers: [go] }), 64 * 1024), { keptBytes: 64 * 1024, packages: 10_000 }), { message: /more package metadata/ }, 'Go build information in every binary counts too')
  const many = Array.from({ length: 50 }, (_, i) => stanza(`pkg-${i}`, '1.0'))
  await t.rejects(scanImagePackages(chunked(await saveArchive({ layers: [[dpkgStatus(...many)]] })), { keptBytes: 8 * 1024 * 1024, packages: 20 }), { message: /more than 20 packages/ })
  const fine = await scanImagePackages(chunked(archive, 64 * 1024))
  t.equal(fine.packages.length, 40, 'within the default budget, all of them')
})

t.test('attack: package metadata that is not what it claims to be lists nothing and breaks nothing', async (t) => {
  const { packages } = await scanImagePackages(
    chunked(
      await saveArchive({
        layers: [
          [
            fileWith('app/node_modules/proto/package.json', '{"__proto__": {"polluted": true}, "name": "proto", "version": "1.0.0", "license": {"toString": 1}}'),
            fileWith('app/node_modules/broken/package.json', '{"name": "broken", "version":'),
            fileWith('app/node_modules/typed/package.json', '{"name": ["a"], "version": {"v": 1}}'),
            fileWith('usr/lib/python3/site-packages/bad-1.0.dist-info/METADATA', '\u0000\u0001binary garbage'),
            fileWith('usr/local/bin/liar', Buffer.concat([Buffer.from('\xff Go buildinf:', 'latin1'), Buffer.from([8, 2]), Buffer.alloc(16), uvarint(2 ** 40)]), 0o755)
          ]
        ]
      })
    )
  )
  t.same(packages.map((found) => found.name), ['proto'], 'only the well-formed package')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype polluted')
  t.equal(packages[0]?.license, null, 'a license that is no string is no license')
})

t.test('no os-release, no packages', async (t) => {
  t.same(await scanImagePackages(chunked(await saveArchive({ layers: [[fileWith('hello', 'world')]] }))), { packages: [], os: null })
})

// ---------------------------------------------------------------------------------------------
// Against the real engine's images

const docker = new Docker()
const run = promisify(execFile)

async function hasImage (name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect()
    return true
  } catch {
    return false
  }
}

t.test('integration: debian:bookworm-slim lists what dpkg-query does', { skip: (await hasImage('debian:bookworm-slim')) ? false : 'debian:bookworm-slim is not available' }, async (t) => {
  const { stdout } = await run('docker', ['run', '--rm', '--network', 'none', 'debian:bookworm-slim', 'dpkg-query', '-W', '-f', '${Package} ${Version}\\n'])
  const expected = stdout.trim().split('\n').sort()
  const started = performance.now()
  const { packages, os } = await scanImagePackages(await docker.getImage('debian:bookworm-slim').get())
  t.comment(`scanImagePackages on debian:bookworm-slim: ${(performance.now() - started).toFixed(0)} ms, ${packages.length} packages`)
  t.same(os, { id: 'debian', versionId: '12' })
  t.same(packages.filter((found) => found.ecosystem === 'deb').map((found) => `${found.name} ${found.version}`).sort(), expected)
  t.ok(expected.length > 50, `${expected.length} packages`)
  t.ok(packages.every((found) => found.historyIndex === 0), 'a single-layer base image: all from its first history entry')
  t.match(packages.find((found) => found.name === 'bash')?.purl, /^pkg:deb\/debian\/bash@[^?]+\?arch=amd64&distro=debian-12$/)
})

t.test('integration: node:20-bookworm-slim holds npm and its own packages', { skip: (await hasImage('node:20-bookworm-slim')) ? false : 'node:20-bookworm-slim is not available' }, async (t) => {
  const { stdout } = await run('docker', ['run', '--rm', '--network', 'none', 'node:20-bookworm-slim', 'npm', '--version'])
  const { packages } = await scanImagePackages(await docker.getImage('node:20-bookworm-slim').get())
  const npm = packages.find((found) => found.ecosystem === 'npm' && found.name === 'npm')
  t.same(npm && { version: npm.version, path: npm.path, purl: npm.purl, license: npm.license }, { version: stdout.trim(), path: '/usr/local/lib/node_modules/npm/package.json', purl: `pkg:npm/npm@${stdout.trim()}`, license: 'Artistic-2.0' })
  const bundled = packages.filter((found) => found.ecosystem === 'npm' && found.path.startsWith('/usr/local/lib/node_modules/npm/node_modules/'))
  t.ok(bundled.length > 50, `npm's bundled dependencies found (${bundled.length})`)
  t.ok(packages.some((found) => found.ecosystem === 'deb' && found.name === 'libc6'), 'and the Debian packages beneath')
  const history = ((await docker.getImage('node:20-bookworm-slim').history()) as { CreatedBy: string }[]).slice().reverse()
  t.match(npm && history[npm.historyIndex]?.CreatedBy, /node/, 'npm came with the layer that installed node')
})

// A module-built Go program on the test machines (`go version -m` lists the same); the engine's
// own binaries are built in GOPATH mode, with build information but no modules.
const goProgram = '/usr/local/bin/terraform'

t.test('integration: the build information of a real Go program', { skip: existsSync(goProgram) ? false : `${goProgram} is not there` }, async (t) => {
  const binary = goProgram
  const keeper = goBuildInfoKeeper()
  // Odd-sized chunks, so the header may straddle two.
  for await (const chunk of createReadStream(binary, { highWaterMark: 4093 })) keeper.write(chunk as Buffer)
  const window = keeper.end()
  t.ok(window && window.length <= 512 * 1024, 'a bounded window is kept')
  const modules = window ? goModules(window) : []
  t.comment(`${binary}: ${modules.length} modules, main ${modules[0]?.path ?? '-'} ${modules[0]?.version ?? ''}`)
  t.equal(modules[0]?.path, 'github.com/hashicorp/terraform', 'the main module first')
  t.ok(modules.length > 50, 'and its dependencies')
  t.ok(modules.every((module) => /^[a-z0-9.-]+(\/[^\s/]+)*$/i.test(module.path) && /^(v\d|\(devel\))/.test(module.version)), 'module paths and versions')
})
