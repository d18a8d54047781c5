import t from 'tap'
import { normalizeBuildRequest } from '../../../src/domain/builds/build-request.js'
import type { BuildRequest } from '../../../src/domain/schemas/build.js'
import { defaultRequest } from '../../helpers/fixtures.js'

const REPO = 'https://github.com/acme/app.git'
const policy = { repos: { allowLocal: false }, timeoutSeconds: 3600, timeoutMaxSeconds: 7200, localNamespace: 'slipway.local' }

function normalize (request: Partial<BuildRequest>) {
  return normalizeBuildRequest({ repo: REPO, ...request }, policy)
}

/** The `code` of the error normalize throws for `request`, or 'accepted'. */
function codeOf (request: Partial<BuildRequest>): string {
  try {
    normalize(request)
    return 'accepted'
  } catch (error) {
    return (error as { code?: string }).code ?? String(error)
  }
}

function messageOf (request: Partial<BuildRequest>): string {
  try {
    normalize(request)
    return ''
  } catch (error) {
    return (error as Error).message
  }
}

t.test('only a repo: every default is filled in', async (t) => {
  t.strictSame(normalize({}), defaultRequest(REPO))
})

t.test('defaults follow from what was given', async (t) => {
  t.equal(normalize({ context: 'services/api' }).dockerfile, 'services/api/Dockerfile', 'dockerfile defaults to <context>/Dockerfile')
  t.equal(normalize({ context: 'services/api', dockerfile: 'docker/api.Dockerfile' }).dockerfile, 'docker/api.Dockerfile')
  t.equal(normalize({ repo: 'git@github.com:acme/Web-Site.git' }).image, 'slipway.local/web-site', 'image from the repository name, in the local namespace')
  t.equal(normalize({ repo: 'https://github.com/acme/My.Repo' }).image, 'slipway.local/my.repo')
  t.equal(normalize({ repo: 'ssh://git@example.com/x/---.git' }).image, 'slipway.local/app', 'a name with nothing usable falls back to "app"')
  const long = normalize({ repo: `https://github.com/acme/${'a'.repeat(250)}` }).image
  t.equal(long, `slipway.local/${'a'.repeat(200)}`, 'a very long repository name still gives a valid image name')

  const withImage = normalize({ image: 'localhost:5000/team/app' })
  t.equal(withImage.image, 'localhost:5000/team/app')
  t.equal(withImage.push, true, 'push defaults to true when an image is given')
  t.equal(normalize({ image: 'localhost:5000/team/app', push: false }).push, false, 'an explicit push: false wins')
  t.equal(normalize({ image: 'localhost:5000/team/app', push: false }).image, 'slipway.local/team/app', 'and the image is kept in the local namespace')
  t.equal(normalize({ image: 'localhost:5000/team/app', push: true }).push, true)
  t.equal(normalize({ push: false }).push, false)
})

t.test('what was given is kept', async (t) => {
  const request = {
    ref: 'v1.2.3',
    context: 'app',
    dockerfile: 'app/Dockerfile.prod',
    target: 'runtime',
    buildArgs: { VERSION: '1.2.3' },
    labels: { 'org.example.team': 'platform' },
    image: 'registry.example.com/team/app',
    tags: ['1.2.3', 'latest'],
    push: true,
    noCache: true,
    registryCache: false,
    sbom: false,
    provenance: false,
    sign: false,
    cacheFrom: ['registry.example.com/team/app:main', `registry.example.com/team/base@sha256:${'0'.repeat(64)}`],
    builder: 'classic' as const,
    keepGitDir: true,
    submodules: true,
    timeoutSeconds: 120,
    priority: 'high' as const,
    force: true,
    supersede: true,
    maxImageBytes: 200_000_000,
    budgetMode: 'warn' as const,
    network: 'none' as const
  }
  t.strictSame(normalize(request), { repo: REPO, ...request, secrets: [], ssh: [], variants: [], webhooks: [], report: null })
})

t.test('variants inherit what they do not set, their own build args over the request\'s', async (t) => {
  const normalized = normalize({
    dockerfile: 'Dockerfile',
    target: 'runtime',
    buildArgs: { A: '1', B: '2' },
    variants: [{ name: 'plain' }, { name: 'slim', dockerfile: './docker//Dockerfile.slim', target: 'slim', buildArgs: { B: 'b' } }]
  })
  t.strictSame(normalized.variants, [
    { name: 'plain', dockerfile: 'Dockerfile', target: 'runtime', buildArgs: { A: '1', B: '2' } },
    { name: 'slim', dockerfile: 'docker/Dockerfile.slim', target: 'slim', buildArgs: { A: '1', B: 'b' } }
  ])
})

t.test('a variant\'s Dockerfile follows the path rules; its name is its own', async (t) => {
  t.equal(codeOf({ variants: [{ name: 'a' }, { name: 'b', dockerfile: '../../etc/passwd' }] }), 'PATH_INVALID')
  t.match(messageOf({ variants: [{ name: 'a' }, { name: 'b', dockerfile: '/abs' }] }), /variants\[b\]\.dockerfile '\/abs' is absolute/)
  t.equal(codeOf({ variants: [{ name: 'a' }, { name: 'a', target: 'x' }] }), 'VARIANT_NAME_REPEATED')
  t.match(messageOf({ variants: [{ name: 'a' }, { name: 'a' }] }), /Two variants are named 'a'/)
})

t.test('the time limit: the server default, and never past its maximum', async (t) => {
  t.equal(normalize({}).timeoutSeconds, 3600)
  t.equal(normalize({ timeoutSeconds: 7200 }).timeoutSeconds, 7200)
  t.equal(codeOf({ timeoutSeconds: 7201 }), 'TIMEOUT_TOO_LONG')
  t.match(messageOf({ timeoutSeconds: 7201 }), /7201 is more than this server allows \(7200\)/)
  const strict = normalizeBuildRequest({ repo: REPO }, { ...policy, timeoutSeconds: 9999, timeoutMaxSeconds: 60 })
  t.equal(strict.timeoutSeconds, 60, 'a default above the maximum is held to it')
})

t.test('an image that is not pushed is named in the local namespace, whatever registry the request gave', async (t) => {
  const local = (image: string) => normalize({ image, push: false }).image
  t.equal(local('node'), 'slipway.local/node', "a Docker Hub name never stays the engine's own node")
  t.equal(local('library/node'), 'slipway.local/library/node')
  t.equal(local('registry.example.com:5000/team/app'), 'slipway.local/team/app', 'the registry is dropped')
  t.equal(local('slipway.local/team/app'), 'slipway.local/team/app', 'a name in the namespace stays as it is')
  t.equal(normalizeBuildRequest({ repo: REPO }, { ...policy, localNamespace: 'builds.corp.example' }).image, 'builds.corp.example/app')
  t.equal(codeOf({ image: `x/${'a'.repeat(250)}`, push: false }), 'IMAGE_NAME_INVALID', 'still at most 255 characters with the namespace')
  t.equal(codeOf({ image: 'Node', push: false }), 'IMAGE_NAME_INVALID', 'the given name is checked first')
})

t.test('an image in the local namespace is never pushed', async (t) => {
  t.equal(codeOf({ image: 'slipway.local/team/app' }), 'IMAGE_NAME_INVALID')
  t.equal(codeOf({ image: 'Slipway.Local/team/app', push: true }), 'IMAGE_NAME_INVALID')
  t.match(messageOf({ image: 'slipway.local/team/app' }), /SLIPWAY_LOCAL_IMAGE_NAMESPACE.*set push to false/)
  t.equal(codeOf({ image: 'slipway.localhost/team/app' }), 'accepted', 'a host that only starts alike is another registry')
})

t.test('push without an image is refused with PUSH_WITHOUT_IMAGE', async (t) => {
  t.equal(codeOf({ push: true }), 'PUSH_WITHOUT_IMAGE')
  t.match(messageOf({ push: true }), /set `image`/)
})

t.test('the repo URL is checked with the local-repository policy', async (t) => {
  t.equal(codeOf({ repo: 'http://github.com/acme/app' }), 'REPO_URL_INVALID')
  t.equal(codeOf({ repo: '/srv/repos/app' }), 'LOCAL_REPOS_DISABLED')
  t.equal(normalizeBuildRequest({ repo: '/srv/repos/app' }, { ...policy, repos: { allowLocal: true } }).repo, 'file:///srv/repos/app')
  t.equal(codeOf({ image: 'App:latest' }), 'IMAGE_NAME_INVALID', 'the image name is checked too')
})

t.test('refs: git check-ref-format rules, and never an option', async (t) => {
  const rejected = [
    '--upload-pack=touch /tmp/x',
    '--upload-pack=touch',
    '-x',
    'a..b',
    '..',
    'a b',
    'x@{1}',
    '@{-1}',
    '@',
    'refs/heads/',
    '/main',
    'a//b',
    '.hidden',
    'feature/.hidden',
    'x.lock',
    'x.lock/y',
    'x.',
    'a\u0001b',
    'a\u007f',
    'a\tb',
    'main\n',
    'HEAD~1',
    'v1^{}',
    'a^',
    'a:b',
    'x?',
    'x*',
    'x[',
    'a\\b'
  ]
  for (const ref of rejected) {
    t.equal(codeOf({ ref }), 'REF_INVALID', JSON.stringify(ref))
  }
  t.match(messageOf({ ref: 'a\u0001b' }), /ref 'a\\u0001b'/, 'the echoed ref is escaped')
  t.match(messageOf({ ref: '-x' }), /starts with "-"/)

  const accepted = [
    'main',
    'feature/x',
    'release/2024/q1',
    'v1.2.3',
    'refs/heads/main',
    'refs/tags/v1.0',
    'a@b',
    'dependabot/npm_and_yarn/x-1.0',
    'abc1234',
    '0123456789abcdef0123456789abcdef01234567'
  ]
  for (const ref of accepted) {
    t.equal(normalize({ ref }).ref, ref, `${ref} is kept as given`)
  }
})

t.test('context and dockerfile: relative paths inside the repository', async (t) => {
  const rejected = ['../x', '..', 'a/..', 'a/../../b', 'a/b/../c', '/etc', '/', 'a\\b', '..\\x', 'a\u0000b', 'a\nb']
  for (const value of rejected) {
    t.equal(codeOf({ context: value }), 'PATH_INVALID', `context ${JSON.stringify(value)}`)
    t.equal(codeOf({ dockerfile: value }), 'PATH_INVALID', `dockerfile ${JSON.stringify(value)}`)
  }
  t.match(messageOf({ context: '/etc' }), /^context '\/etc' is absolute/)
  t.match(messageOf({ dockerfile: '../Dockerfile' }), /^dockerfile '\.\.\/Dockerfile' climbs out/)

  const normalised: [string, string][] = [
    ['.', '.'],
    ['./', '.'],
    ['./app/', 'app'],
    ['app/', 'app'],
    ['a//b', 'a/b'],
    ['a/./b', 'a/b'],
    ['a/b///', 'a/b'],
    ['..app', '..app']
  ]
  for (const [value, expected] of normalised) {
    t.equal(normalize({ context: value }).context, expected, `context ${JSON.stringify(value)} → ${expected}`)
  }
  t.equal(normalize({ context: './app/' }).dockerfile, 'app/Dockerfile', 'the default dockerfile uses the normalised context')
  t.equal(normalize({ dockerfile: './docker//Dockerfile' }).dockerfile, 'docker/Dockerfile')
})

t.test('secrets and SSH keys need BuildKit: SECRETS_NEED_BUILDKIT with builder classic, or with no builder on a classic server', async (t) => {
  t.same(normalizeBuildRequest({ repo: REPO, secrets: ['npm'], ssh: ['default'] }, policy), { ...normalizeBuildRequest({ repo: REPO }, policy), secrets: ['npm'], ssh: ['default'] })
  t.throws(() => normalizeBuildRequest({ repo: REPO, secrets: ['npm'], builder: 'classic' }, policy), { code: 'SECRETS_NEED_BUILDKIT', statusCode: 400, message: /secrets \(npm\) with `builder: classic`/ })
  const classicServer = { ...policy, defaultBuilder: 'classic' as const }
  t.throws(() => normalizeBuildRequest({ repo: REPO, ssh: ['default'] }, classicServer), { code: 'SECRETS_NEED_BUILDKIT', message: /SSH keys \(default\).*SLIPWAY_BUILDER=classic/ })
  t.equal(normalizeBuildRequest({ repo: REPO, ssh: ['default'], builder: 'buildkit' }, classicServer).builder, 'buildkit', 'a request may ask for BuildKit')
  t.equal(normalizeBuildRequest({ repo: REPO, builder: 'classic' }, classicServer).builder, 'classic', 'without secrets the classic builder is fine')
})
