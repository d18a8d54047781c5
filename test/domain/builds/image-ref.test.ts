import t from 'tap'
import { checkImageName, checkImageReference, DOCKER_HUB, splitImageName } from '../../../src/domain/builds/image-ref.js'

t.test('splitImageName decides the registry the way Docker does', async (t) => {
  const cases: [string, string, string][] = [
    ['app', 'docker.io', 'app'],
    ['library/ubuntu', 'docker.io', 'library/ubuntu'],
    ['slipway/app', 'docker.io', 'slipway/app'],
    ['team/sub/app', 'docker.io', 'team/sub/app'],
    ['localhost/app', 'localhost', 'app'],
    ['localhost:5000/team/app', 'localhost:5000', 'team/app'],
    ['registry.example.com/team/app', 'registry.example.com', 'team/app'],
    ['registry.example.com:443/app', 'registry.example.com:443', 'app'],
    ['myhost:5000/app', 'myhost:5000', 'app'],
    ['[::1]:5000/app', '[::1]:5000', 'app'],
    // An uppercase first part can't be a repository path, so Docker takes it for a host.
    ['MyRegistry/app', 'MyRegistry', 'app'],
    ['Registry/team/app', 'Registry', 'team/app'],
    // No slash: all of it is the path, even if it looks like a host.
    ['example.com', 'docker.io', 'example.com'],
    ['localhost:5000', 'docker.io', 'localhost:5000']
  ]
  for (const [name, registry, path] of cases) {
    t.strictSame(splitImageName(name), { registry, path }, name)
  }
  t.equal(DOCKER_HUB, 'docker.io')
})

t.test('checkImageName accepts valid repository names and returns them unchanged', async (t) => {
  const valid = [
    'app',
    'slipway/app',
    'library/ubuntu',
    'team/sub/app',
    'localhost/app',
    'localhost:5000/team/app',
    'registry.example.com/team/app',
    'registry.example.com:443/app',
    'my-registry.example.com/app',
    '[::1]:5000/app',
    'MyRegistry/app',
    'a.b',
    'a_b',
    'a__b',
    'a-b',
    'a--b',
    'a---b',
    'app2/v1.0_x-y',
    'r.io/' + 'a'.repeat(250)
  ]
  for (const name of valid) t.equal(checkImageName(name), name, name)
})

t.test('checkImageName rejects everything else with IMAGE_NAME_INVALID', async (t) => {
  const invalid: [string, RegExp][] = [
    ['app:latest', /has a tag/],
    ['slipway/app:1.0', /has a tag/],
    ['localhost:5000/app:v1', /has a tag/],
    ['localhost:5000', /has a tag/],
    ['app@sha256:' + 'a'.repeat(64), /has a digest/],
    ['localhost:5000/app@sha256:abc', /has a digest/],
    ['app:v1@sha256:abc', /has a digest/],
    ['App', /not a valid repository name/],
    ['team/App', /not a valid repository name/],
    ['localhost:5000/Team/app', /not a valid repository name/],
    ['a..b', /not a valid repository name/],
    ['a___b', /not a valid repository name/],
    ['a-_b', /not a valid repository name/],
    ['a._b', /not a valid repository name/],
    ['-app', /not a valid repository name/],
    ['app-', /not a valid repository name/],
    ['.app', /not a valid repository name/],
    ['_app', /not a valid repository name/],
    ['a//b', /not a valid repository name/],
    ['/app', /not a valid repository name/],
    ['app/', /not a valid repository name/],
    ['team/ app', /not a valid repository name/],
    ['', /not a valid repository name/],
    ['reg_istry.com/app', /invalid registry host 'reg_istry\.com'/],
    ['-registry.com/app', /invalid registry host/],
    ['registry-.com/app', /invalid registry host/],
    ['registry.com:port/app', /invalid registry host/],
    ['a'.repeat(256), /longer than 255 characters/],
    ['r.io/' + 'a'.repeat(251), /longer than 255 characters/]
  ]
  for (const [name, why] of invalid) {
    let error: (Error & { code?: string; statusCode?: number }) | undefined
    try {
      checkImageName(name)
    } catch (caught) {
      error = caught as Error & { code?: string }
    }
    const label = name.length > 40 ? `${name.slice(0, 20)}… (${name.length} chars)` : JSON.stringify(name)
    t.equal(error?.code, 'IMAGE_NAME_INVALID', label)
    t.equal(error?.statusCode, 400)
    t.match(error?.message, why, `${label}: ${why}`)
  }
})

t.test('checkImageReference takes a repository with a tag, a digest or both, and names what is wrong', async (t) => {
  const digest = `sha256:${'0123456789abcdef'.repeat(4)}`
  const good: [string, string][] = [
    ['localhost:5000/team/app:main', 'localhost:5000/team/app'],
    [`localhost:5000/team/app@${digest}`, 'localhost:5000/team/app'],
    [`registry.example.com/app:v1.2@${digest}`, 'registry.example.com/app'],
    ['node:20', 'node'],
    ['team/app', 'team/app']
  ]
  for (const [reference, repository] of good) t.same(checkImageReference(reference, 'cacheFrom[0]'), { repository }, reference)
  const bad: [string, RegExp][] = [
    ['localhost:5000/team/app@sha256:abc', /malformed digest/],
    [`localhost:5000/team/app@SHA256:${'a'.repeat(64)}`, /malformed digest/],
    ['localhost:5000/team/app:-x', /malformed tag/],
    ['localhost:5000/team/app:a:b', /not a valid image reference/],
    ['localhost:5000/Team/app:x', /not a valid image reference/],
    ['localhost:5000/team/app@', /malformed digest/]
  ]
  for (const [reference, message] of bad) {
    t.throws(() => checkImageReference(reference, 'cacheFrom[1]'), { code: 'IMAGE_NAME_INVALID', message }, reference)
    t.throws(() => checkImageReference(reference, 'cacheFrom[1]'), { message: /^cacheFrom\[1\] '/ }, 'names the field')
  }
})
