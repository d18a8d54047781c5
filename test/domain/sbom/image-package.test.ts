import t from 'tap'
import { ociPurl, purlOf } from '../../../src/domain/sbom/image-package.js'

const debian = { id: 'debian', versionId: '12' }

t.test('purlOf, per type', async (t) => {
  t.equal(purlOf({ ecosystem: 'deb', name: 'curl', version: '7.88.1-10', arch: 'amd64', os: debian }), 'pkg:deb/debian/curl@7.88.1-10?arch=amd64&distro=debian-12')
  t.equal(purlOf({ ecosystem: 'deb', name: 'libc6', version: '1:2.36-9+deb12u4', arch: 'amd64', os: { id: 'ubuntu', versionId: '22.04' } }), 'pkg:deb/ubuntu/libc6@1:2.36-9%2Bdeb12u4?arch=amd64&distro=ubuntu-22.04', 'an epoch keeps its colon; + is encoded')
  t.equal(purlOf({ ecosystem: 'deb', name: 'tzdata', version: '2024a', os: null }), 'pkg:deb/debian/tzdata@2024a', 'no os-release: debian, no qualifiers')
  t.equal(purlOf({ ecosystem: 'apk', name: 'musl', version: '1.2.4-r2', arch: 'x86_64', os: { id: 'alpine', versionId: '3.18' } }), 'pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18')
  t.equal(purlOf({ ecosystem: 'pypi', name: 'Flask', version: '2.3.2' }), 'pkg:pypi/flask@2.3.2')
  t.equal(purlOf({ ecosystem: 'pypi', name: 'zope.interface__x--y', version: '6.0' }), 'pkg:pypi/zope-interface-x-y@6.0', 'PEP 503 normalization')
  t.equal(purlOf({ ecosystem: 'pypi', name: 'x', version: '1.0', arch: 'amd64', os: debian }), 'pkg:pypi/x@1.0', 'no distro qualifiers on language packages')
  t.equal(purlOf({ ecosystem: 'npm', name: '@scope/name', version: '1.0.0' }), 'pkg:npm/%40scope/name@1.0.0')
  t.equal(purlOf({ ecosystem: 'npm', name: 'express', version: '5.0.0-beta.1' }), 'pkg:npm/express@5.0.0-beta.1')
  t.equal(purlOf({ ecosystem: 'golang', name: 'github.com/foo/bar', version: 'v1.2.3' }), 'pkg:golang/github.com/foo/bar@v1.2.3')
  t.equal(purlOf({ ecosystem: 'golang', name: 'example.com/app', version: '(devel)' }), 'pkg:golang/example.com/app@(devel)')
  t.equal(purlOf({ ecosystem: 'golang', name: 'github.com/x/y', version: 'v2.0.0+incompatible' }), 'pkg:golang/github.com/x/y@v2.0.0%2Bincompatible')
})

t.test('ociPurl', async (t) => {
  t.equal(ociPurl('registry.example.com:5000/team/App:v1', 'sha256:abc'), 'pkg:oci/app@sha256%3Aabc?repository_url=registry.example.com:5000/team/app')
  t.equal(ociPurl('01HXBUILD', 'sha256:abc'), 'pkg:oci/01hxbuild@sha256%3Aabc')
})
