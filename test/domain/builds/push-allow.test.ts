import t from 'tap'
import {
  assertMayPush,
  canonicalImage,
  checkPushPatterns,
  grantOf,
  parsePushAllowSetting,
  patternMatches,
  patternProblem,
  ruleLimits,
  tokenLimit
} from '../../../src/domain/builds/push-allow.js'
import type { Actor } from '../../../src/domain/schemas/audit.js'

const actor: Actor = { kind: 'token', id: 'T1', name: 'team-a ci', deliveryId: null }

t.test('image names in canonical form: the registry host lower-cased, Docker Hub spelled out', async (t) => {
  const cases: [string, string][] = [
    ['node', 'docker.io/library/node'],
    ['library/node', 'docker.io/library/node'],
    ['docker.io/node', 'docker.io/library/node'],
    ['index.docker.io/acme/app', 'docker.io/acme/app'],
    ['acme/app', 'docker.io/acme/app'],
    ['Registry.Example.com:5000/team/app', 'registry.example.com:5000/team/app'],
    ['localhost/app', 'localhost/app']
  ]
  for (const [name, canonical] of cases) t.equal(canonicalImage(name), canonical, name)
})

t.test('what a pattern matches', async (t) => {
  const cases: [string, string, boolean][] = [
    ['registry.example.com/team-a/*', 'registry.example.com/team-a/app', true],
    ['registry.example.com/team-a/*', 'registry.example.com/team-a/app/nested', false],
    ['registry.example.com/team-a/*', 'registry.example.com/team-b/app', false],
    ['registry.example.com/team-a/*', 'registry.example.com/team-a', false],
    ['registry.example.com/team-a/*', 'Registry.Example.com/team-a/app', true],
    ['registry.example.com/team-a/*', 'registry.example.com:443/team-a/app', false],
    ['registry.example.com/team-a/*', 'registry.example.com.evil.io/team-a/app', false],
    ['registry.example.com/team-a/*', 'evil.io/registry.example.com/team-a/app', false],
    ['registry-example.com/team-a/*', 'registryxexample.com/team-a/app', false],
    ['localhost:5000/**', 'localhost:5000/app', true],
    ['localhost:5000/**', 'localhost:5000/a/b/c', true],
    ['localhost:5000/**', 'localhost:5001/app', false],
    ['localhost:5000/team/**', 'localhost:5000/team', false],
    ['localhost:5000/team/**/app', 'localhost:5000/team/app', true],
    ['localhost:5000/team/**/app', 'localhost:5000/team/x/y/app', true],
    ['localhost:5000/team/**/app', 'localhost:5000/team/x/y/web', false],
    ['localhost:5000/team/app-*', 'localhost:5000/team/app-web', true],
    ['localhost:5000/team/app-*', 'localhost:5000/team/appxweb', false],
    ['localhost:5000/team/a.b', 'localhost:5000/team/axb', false],
    ['docker.io/library/node', 'node', true],
    ['docker.io/library/node', 'docker.io/library/node', true],
    ['docker.io/library/node', 'acme/node', false],
    ['docker.io/acme/*', 'acme/app', true],
    ['index.docker.io/acme/*', 'acme/app', true],
    ['docker.io/**', 'node', true],
    ['**', 'anything.example/at/all', true],
    ['**', 'node', true]
  ]
  for (const [pattern, image, expected] of cases) {
    t.equal(patternProblem(pattern), null, `${pattern} is a pattern`)
    t.equal(patternMatches(pattern, image), expected, `${pattern} ${expected ? 'matches' : 'does not match'} ${image}`)
  }
})

t.test('patterns that are refused, and why', async (t) => {
  const cases: [string, RegExp][] = [
    ['team-a/*', /does not start with a registry host/],
    ['*/team-a/*', /does not start with a registry host/],
    ['*.example.com/app', /does not start with a registry host/],
    ['localhost:*/app', /does not start with a registry host/],
    ['https://registry.example.com/x', /URL scheme/],
    ['registry.example.com', /names no repository path.*registry\.example\.com\/\*\*/],
    ['registry.example.com/', /path component ''/],
    ['registry.example.com/Team/app', /path component 'Team'/],
    ['registry.example.com/team/a**', /"\*\*" stands alone/],
    ['registry.example.com/team app', /path component/],
    ['docker.io/node', /docker\.io\/library\/node/],
    ['docker.io/*', /docker\.io\/library\/\*/]
  ]
  for (const [pattern, why] of cases) t.match(patternProblem(pattern), why, pattern)
  t.throws(() => checkPushPatterns(['localhost:5000/ok/*', 'team-a/*']), { code: 'PUSH_PATTERN_INVALID', message: /'team-a\/\*' does not start/ })
})

t.test('SLIPWAY_PUSH_ALLOW: comma-separated, blanks ignored, a bad pattern named with the setting', async (t) => {
  t.same(parsePushAllowSetting(''), [])
  t.same(parsePushAllowSetting(' localhost:5000/** , registry.example.com/team-a/*,'), ['localhost:5000/**', 'registry.example.com/team-a/*'])
  t.throws(() => parsePushAllowSetting('localhost:5000/**,team-a/*'), { message: /^SLIPWAY_PUSH_ALLOW: 'team-a\/\*' does not start with a registry host/ })
})

t.test('what a token may push to', async (t) => {
  const policy = { defaults: ['localhost:5000/shared/*'], adminAnywhere: false }
  t.same(grantOf({ admin: false, pushAllow: null }, policy), { patterns: ['localhost:5000/shared/*'], from: 'SLIPWAY_PUSH_ALLOW' })
  t.same(grantOf({ admin: false, pushAllow: ['x.io/a/*'] }, policy), { patterns: ['x.io/a/*'], from: 'token' })
  t.same(grantOf({ admin: false, pushAllow: [] }, policy), { patterns: [], from: 'token' }, '[] is nowhere, not the default')
  t.same(grantOf({ admin: true, pushAllow: null }, policy), { patterns: ['localhost:5000/shared/*'], from: 'SLIPWAY_PUSH_ALLOW' }, 'admins are limited too')
  const anywhere = { ...policy, adminAnywhere: true }
  t.same(grantOf({ admin: true, pushAllow: ['x.io/a/*'] }, anywhere), { patterns: ['**'], from: 'SLIPWAY_ADMIN_PUSH_ANYWHERE' })
  t.same(grantOf({ admin: false, pushAllow: null }, anywhere).from, 'SLIPWAY_PUSH_ALLOW', 'only admins')
})

t.test('a refusal names the image, the patterns that apply, where they come from and what to do', async (t) => {
  const limit = tokenLimit({ patterns: ['localhost:5000/team-a/*'], from: 'SLIPWAY_PUSH_ALLOW' })
  t.doesNotThrow(() => assertMayPush('localhost:5000/team-a/app', [limit], actor))
  t.throws(() => assertMayPush('localhost:5000/team-b/app', [limit], actor), {
    code: 'IMAGE_NOT_ALLOWED',
    statusCode: 403,
    message:
      "Token 'team-a ci' may not push to 'localhost:5000/team-b/app': the repositories it may push to are localhost:5000/team-a/* " +
      '(from SLIPWAY_PUSH_ALLOW). Push to one of them, or ask an admin for a token whose own pushAllow covers it, or the operator to add it to SLIPWAY_PUSH_ALLOW.'
  })
  t.throws(() => assertMayPush('node', [tokenLimit({ patterns: [], from: 'token' })], actor), { message: /'node' \(as patterns read it: docker\.io\/library\/node\).* are none \(from token\)/ })
})

t.test("a trigger rule's limits: its author's patterns, and an operator setting's value now when they came from one", async (t) => {
  const narrow = { defaults: ['localhost:5000/team-a/*'], adminAnywhere: false }
  const rule = (pushAllow: string[] | null, pushAllowFrom: 'token' | 'SLIPWAY_PUSH_ALLOW' | 'SLIPWAY_ADMIN_PUSH_ANYWHERE' | null) => ({ id: 'R1', pushAllow, pushAllowFrom })
  const allows = (limits: ReturnType<typeof ruleLimits>, image: string) => limits.every((limit) => limit.patterns.some((pattern) => patternMatches(pattern, image)))

  t.ok(allows(ruleLimits(rule(['localhost:5000/**'], 'token'), narrow), 'localhost:5000/team-b/app'), "a token's own patterns do not follow the setting")
  const underSetting = ruleLimits(rule(['localhost:5000/**'], 'SLIPWAY_PUSH_ALLOW'), narrow)
  t.notOk(allows(underSetting, 'localhost:5000/team-b/app'), 'the setting narrowed since: so is the rule')
  t.ok(allows(underSetting, 'localhost:5000/team-a/app'))
  t.notOk(allows(ruleLimits(rule(['localhost:5000/team-a/*'], 'SLIPWAY_PUSH_ALLOW'), { ...narrow, defaults: ['**'] }), 'x.io/a/b'), 'widening it does not widen the rule')
  t.notOk(allows(ruleLimits(rule(['**'], 'SLIPWAY_ADMIN_PUSH_ANYWHERE'), narrow), 'x.io/a/b'), 'admins may no longer push anywhere: nor may their rules')
  t.ok(allows(ruleLimits(rule(['**'], 'SLIPWAY_ADMIN_PUSH_ANYWHERE'), { ...narrow, adminAnywhere: true }), 'x.io/a/b'))
  t.notOk(allows(ruleLimits(rule(null, null), narrow), 'localhost:5000/team-b/app'), 'a rule from before follows the setting')
  t.match(underSetting[0]?.remedy, /PATCH \/v1\/triggers\/R1/)
})
