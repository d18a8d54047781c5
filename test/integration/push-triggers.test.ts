import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import type { Build } from '../../src/domain/schemas/build.js'
import type { Trigger, TriggerEventResult } from '../../src/domain/schemas/trigger.js'
import { createRepo } from '../helpers/git-repo.js'
import { gitHubPushPayload, gitLabPushPayload, sendGitHubEvent, sendGitLabEvent } from '../helpers/push-events.js'
import { startSlipway } from '../helpers/slipway.js'

// The API and a worker on real Redis and Docker, a real git repository, and push events shaped
// and signed as GitHub and GitLab send them.

async function setup (t: Test) {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nCOPY version.txt /version.txt\n', 'version.txt': '1\n' })
  const createRule = async (body: object) => {
    const response = await slipway.app.inject({ method: 'POST', url: '/v1/triggers', payload: { repo: repo.url, ...body } })
    t.equal(response.statusCode, 201, 'rule created')
    return response.json<Trigger>()
  }
  const builds = async () => (await slipway.app.inject({ method: 'GET', url: '/v1/builds?limit=100' })).json<{ items: Build[] }>().items
  return { slipway, repo, createRule, builds }
}

t.test('a signed GitHub push starts exactly one build of the pushed commit, which succeeds; its redelivery starts none', async (t) => {
  const { slipway, repo, createRule, builds } = await setup(t)
  const rule = await createRule({ provider: 'github', branches: ['main'] })
  const pushed = await repo.commit({ 'version.txt': '2\n' })
  // The branch moves on before the build starts: the build is of the commit that was pushed.
  await repo.commit({ 'version.txt': '3\n' })
  const body = gitHubPushPayload({ repoUrl: repo.url, ref: 'refs/heads/main', after: pushed })
  const deliveryId = randomUUID()

  const bad = await sendGitHubEvent(slipway.app, { secret: `${rule.secret}x`, body, deliveryId })
  t.equal(bad.statusCode, 401)
  t.equal(bad.json().code, 'TRIGGER_SIGNATURE_INVALID')
  t.equal((await builds()).length, 0, 'a bad signature starts nothing')

  const first = await sendGitHubEvent(slipway.app, { secret: rule.secret!, body, deliveryId })
  t.equal(first.statusCode, 202)
  const result = first.json<TriggerEventResult>()
  t.equal(result.status, 'started')
  t.equal(result.builds.length, 1)
  const build = await slipway.wait(result.builds[0]!.id)
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  t.equal(build.commit, pushed, 'built the pushed commit')
  t.equal(build.request.repo, rule.repo)
  t.equal(build.createdBy?.pusher, 'octocat', 'and who the event says pushed')

  const redelivered = await sendGitHubEvent(slipway.app, { secret: rule.secret!, body, deliveryId })
  t.equal(redelivered.statusCode, 200)
  t.match(redelivered.json(), { status: 'duplicate', builds: [{ id: build.id }] })
  const other = await sendGitHubEvent(slipway.app, { secret: rule.secret!, body: gitHubPushPayload({ repoUrl: repo.url, ref: 'refs/heads/feature', after: pushed }) })
  t.match(other.json(), { status: 'ignored', builds: [] }, 'a branch no rule names starts nothing')
  t.same((await builds()).map((b) => b.id), [build.id], 'one build in all')
})

t.test('a GitLab push with the rule\'s token starts a build that succeeds', async (t) => {
  const { slipway, repo, createRule } = await setup(t)
  await repo.branch('develop')
  await repo.checkout('develop')
  const pushed = await repo.commit({ 'version.txt': 'develop\n' })
  const rule = await createRule({ provider: 'gitlab', branches: ['dev*'], build: { tags: ['develop'] } })
  const response = await sendGitLabEvent(slipway.app, {
    token: rule.secret!,
    body: gitLabPushPayload({ repoUrl: repo.url, ref: 'refs/heads/develop', after: pushed })
  })
  t.equal(response.statusCode, 202, response.body)
  const [started] = response.json<TriggerEventResult>().builds
  const build = await slipway.wait(started!.id)
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  t.equal(build.commit, pushed)
  t.match(build.image?.tags, [/:develop$/])
})

t.test("a push signed with one repository's secret builds nothing of another repository the event also names", async (t) => {
  const { slipway, repo: mine, createRule, builds } = await setup(t)
  const theirs = await createRepo(t, { Dockerfile: 'FROM busybox\nCOPY secret.txt /secret.txt\n', 'secret.txt': 'team B\n' })
  const myRule = await createRule({ provider: 'github', branches: ['main'] })
  const created = await slipway.app.inject({ method: 'POST', url: '/v1/triggers', payload: { provider: 'github', repo: theirs.url, branches: ['main'] } })
  const theirRule = created.json<Trigger>()
  // Team A's sender names its own repository as the clone URL and team B's in the other fields,
  // at a commit of B's it chose, and signs with A's secret.
  const chosen = await theirs.commit({ 'secret.txt': 'chosen by team A\n' })
  const body = gitHubPushPayload({ repoUrl: mine.url, ref: 'refs/heads/main', after: chosen })
  Object.assign(body.repository, { html_url: theirs.url, ssh_url: theirs.url })
  const response = await sendGitHubEvent(slipway.app, { secret: myRule.secret!, body })
  t.equal(response.statusCode, 202, response.body)
  t.same(response.json<TriggerEventResult>().rules, [myRule.id], "only A's rule acts")
  for (const started of response.json<TriggerEventResult>().builds) await slipway.wait(started.id)

  const all = await builds()
  t.ok(all.length > 0)
  t.ok(all.every((build) => build.request.repo === mine.url && build.createdBy?.id === myRule.id), "every build is A's rule's, of A's repository")
  t.notOk(all.some((build) => build.request.repo === theirs.url || build.createdBy?.id === theirRule.id), 'nothing of B was built')
})
