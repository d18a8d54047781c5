import t from 'tap'
import { createRepo } from '../helpers/git-repo.js'
import { startSlipway } from '../helpers/slipway.js'

t.test('refs: default branch, branch, tags, full and short commit SHAs', async (t) => {
  const slipway = await startSlipway(t)
  const dockerfile = 'FROM busybox\nCOPY version.txt /version.txt\n'
  const repo = await createRepo(t, { Dockerfile: dockerfile, 'version.txt': '1\n' })
  const first = await repo.git('rev-parse', 'HEAD')
  await repo.tag('v1', { annotated: true })
  const middle = await repo.commit({ 'version.txt': '2\n' })
  await repo.tag('light')
  await repo.branch('feature')
  await repo.checkout('feature')
  const feature = await repo.commit({ 'version.txt': 'feature\n' })
  await repo.checkout('main')
  const head = await repo.commit({ 'version.txt': '3\n' })
  const hidden = await repo.commit({ 'version.txt': '4\n' })
  await repo.git('reset', '--hard', head) // `hidden` is now on no branch, so it can't be fetched by abbreviation

  const cases: [string | undefined, string, string | null][] = [
    [undefined, head, 'refs/heads/main'],
    ['main', head, 'refs/heads/main'],
    ['feature', feature, 'refs/heads/feature'],
    ['v1', first, 'refs/tags/v1'],
    ['light', middle, 'refs/tags/light'],
    [first, first, null],
    [middle.slice(0, 7), middle, null]
  ]
  for (const [ref, commit, resolvedRef] of cases) {
    const build = await slipway.build({ repo: repo.url, ...(ref ? { ref } : {}) })
    t.equal(build.status, 'succeeded', `${ref ?? 'default'}: ${JSON.stringify(build.error)}`)
    t.equal(build.commit, commit, `${ref ?? 'default branch'} resolves to its commit`)
    t.equal(build.resolvedRef, resolvedRef)
  }

  const unreachable = await slipway.build({ repo: repo.url, ref: hidden.slice(0, 10) })
  t.match(unreachable.error, { code: 'REF_NOT_FOUND' }, 'an abbreviation of a commit no ref reaches is not found')
})
