import t from 'tap'
import { branchMatches, branchOf } from '../../../src/domain/triggers/branch-match.js'

t.test('branchOf: the branch of refs/heads/…, null for anything else', async (t) => {
  t.equal(branchOf('refs/heads/main'), 'main')
  t.equal(branchOf('refs/heads/release/1.2'), 'release/1.2')
  t.equal(branchOf('refs/tags/v1.0.0'), null, 'a tag')
  t.equal(branchOf('refs/heads/'), null, 'no name')
  t.equal(branchOf('main'), null, 'not a full ref')
  t.equal(branchOf('refs/pull/1/head'), null)
})

t.test('branchMatches: exact names and globs, "*" within one path segment', async (t) => {
  const cases: [string[], string, boolean][] = [
    [['main'], 'main', true],
    [['main'], 'main2', false],
    [['main'], 'feature/main', false],
    [['release/*'], 'release/1.2', true],
    [['release/*'], 'release/1.2/hotfix', false],
    [['release/**'], 'release/1.2/hotfix', true],
    [['release/*'], 'release', false],
    [['*'], 'main', true],
    [['*'], 'feature/x', false],
    [['**'], 'feature/x', true],
    [['main', 'develop'], 'develop', true],
    [['main', 'develop'], 'dev', false],
    [['v[0-9]*'], 'v2-beta', true],
    [['{main,master}'], 'master', true],
    [['*'], '.hidden', true],
    [['Main'], 'main', false]
  ]
  for (const [patterns, branch, expected] of cases) t.equal(branchMatches(patterns, branch), expected, `${patterns.join(', ')} ~ ${branch}`)
})
