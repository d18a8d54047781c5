import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import type { Build } from '../../../../src/domain/schemas/build.js'
import type { Trigger, TriggerEventResult } from '../../../../src/domain/schemas/trigger.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { gitHubPullRequestPayload, gitLabMergeRequestPayload, sendGitHubEvent, sendGitLabEvent } from '../../../helpers/push-events.js'

// The API alone, on real Redis and without a worker: pull request (GitHub) and merge request
// (GitLab) events, signed as the providers sign them, start the builds their rules say, with
// the head commit of the rule's own repository, and never a pushed image from a fork.

const REPO = 'https://github.com/acme/app.git'
const HEAD = 'c'.repeat(40)

async function setup (t: Test) {
  const app = await buildApp(t, testConfig(t))
  const createRule = async (body: object) => {
    const response = await app.inject({ method: 'POST', url: '/v1/triggers', payload: { provider: 'github', repo: REPO, branches: ['main'], ...body } })
    t.equal(response.statusCode, 201, response.body)
    return response.json<Trigger>()
  }
  const build = async (id: string) => (await app.inject({ method: 'GET', url: `/v1/builds/${id}` })).json<Build>()
  return { app, createRule, build }
}

t.test('a GitHub pull request into a rule\'s branch builds its head commit, not pushed, and names the request', async (t) => {
  const { app, createRule, build } = await setup(t)
  const rule = await createRule({ events: ['push', 'pull_request'], build: { image: 'localhost:5000/acme/app', tags: ['latest'] } })
  t.same(rule.events, ['push', 'pull_request'])
  t.equal(rule.pushPullRequests, false)
  const body = gitHubPullRequestPayload({ repoUrl: REPO, number: 7, headSha: HEAD, action: 'opened' })
  const response = await sendGitHubEvent(app, { secret: rule.secret!, body, event: 'pull_request' })
  t.equal(response.statusCode, 202, response.body)
  const result = response.json<TriggerEventResult>()
  t.equal(result.status, 'started')
  const started = await build(result.builds[0]!.id)
  t.equal(started.request.repo, REPO, "the rule's repository")
  t.equal(started.request.ref, HEAD, 'the head commit')
  t.equal(started.request.push, false, 'a pull request is built and measured, not pushed, unless the rule says so')
  t.notMatch(started.request.image, /^localhost:5000/, 'tagged locally')
  t.match(started.createdBy, { kind: 'trigger', id: rule.id, ref: 'refs/pull/7/head', pullRequest: { number: 7, headSha: HEAD, sourceBranch: 'feature', targetBranch: 'main', fork: false }, pusher: 'octocat' })
})

t.test('a rule that pushes pull requests tags them pr-<number>; a fork\'s is built but never pushed', async (t) => {
  const { app, createRule, build } = await setup(t)
  const rule = await createRule({ events: ['pull_request'], pushPullRequests: true, build: { image: 'localhost:5000/acme/app', tags: ['latest'] } })
  const own = await sendGitHubEvent(app, { secret: rule.secret!, body: gitHubPullRequestPayload({ repoUrl: REPO, number: 8, headSha: HEAD, action: 'synchronize' }), event: 'pull_request' })
  const ownBuild = await build(own.json<TriggerEventResult>().builds[0]!.id)
  t.equal(ownBuild.request.push, true)
  t.equal(ownBuild.request.image, 'localhost:5000/acme/app')
  t.same(ownBuild.request.tags, ['pr-8'], 'never the tags of the branch builds: a pull request must not replace latest')

  // The fork names its own repository as the head; the build is still of the rule's repository.
  const forkBody = gitHubPullRequestPayload({ repoUrl: REPO, number: 9, headSha: 'd'.repeat(40), action: 'opened', forkUrl: 'https://github.com/mallory/app.git' })
  const fork = await sendGitHubEvent(app, { secret: rule.secret!, body: forkBody, event: 'pull_request' })
  t.equal(fork.statusCode, 202, fork.body)
  const forkBuild = await build(fork.json<TriggerEventResult>().builds[0]!.id)
  t.equal(forkBuild.request.repo, REPO, 'never the URL the fork names')
  t.equal(forkBuild.request.push, false, "a fork's image is never pushed")
  t.match(forkBuild.createdBy, { pullRequest: { number: 9, fork: true }, pusher: 'mallory' }, "the fork's author, as the event names them")
})

t.test('pull requests start nothing for a rule of pushes, into other branches, or for actions that bring no commit', async (t) => {
  const { app, createRule } = await setup(t)
  const pushes = await createRule({})
  const send = async (secret: string, options: Partial<Parameters<typeof gitHubPullRequestPayload>[0]>) =>
    (await sendGitHubEvent(app, { secret, body: gitHubPullRequestPayload({ repoUrl: REPO, number: 3, headSha: HEAD, action: 'opened', ...options }), event: 'pull_request' })).json<TriggerEventResult>()
  t.match(await send(pushes.secret!, {}), { status: 'ignored', reason: /no enabled trigger rule of this repository builds pull requests into branch 'main'/ })
  const prs = await createRule({ events: ['pull_request'], secret: pushes.secret })
  t.match(await send(prs.secret!, { baseRef: 'develop' }), { status: 'ignored', reason: /into branch 'develop'/ })
  t.match(await send(prs.secret!, { action: 'closed' }), { status: 'ignored', reason: /'closed' brings no new commit/ })
  t.match(await send(prs.secret!, { action: 'labeled' }), { status: 'ignored' })
  t.match(await send(prs.secret!, { action: 'reopened' }), { status: 'started', rules: [prs.id] })
})

t.test('a pull request event without its fields is refused with BODY_INVALID', async (t) => {
  const { app, createRule } = await setup(t)
  const rule = await createRule({ events: ['pull_request'] })
  const body = { ...gitHubPullRequestPayload({ repoUrl: REPO, number: 3, headSha: HEAD, action: 'opened' }), number: 'three' }
  const response = await sendGitHubEvent(app, { secret: rule.secret!, body, event: 'pull_request' })
  t.equal(response.statusCode, 400)
  t.equal(response.json().code, 'BODY_INVALID')
})

t.test('GitLab merge requests: open and an update with commits build; an update without commits does not; forks are found by project', async (t) => {
  const { app, createRule, build } = await setup(t)
  const rule = await createRule({ provider: 'gitlab', events: ['merge_request'], pushPullRequests: true, build: { image: 'localhost:5000/acme/app' } })
  const send = async (body: object) => (await sendGitLabEvent(app, { token: rule.secret!, body, event: 'Merge Request Hook', deliveryId: randomUUID() })).json<TriggerEventResult>()
  const opened = await send(gitLabMergeRequestPayload({ repoUrl: REPO, number: 4, headSha: HEAD, action: 'open' }))
  t.equal(opened.status, 'started')
  t.match(await build(opened.builds[0]!.id), { request: { ref: HEAD, push: true, tags: ['pr-4'] }, createdBy: { ref: 'refs/merge-requests/4/head', pullRequest: { number: 4, fork: false }, pusher: 'root' } })
  t.match(await send(gitLabMergeRequestPayload({ repoUrl: REPO, number: 4, headSha: HEAD, action: 'update' })), { status: 'ignored', reason: /'update' brings no new commit/ })
  const updated = await send(gitLabMergeRequestPayload({ repoUrl: REPO, number: 4, headSha: 'e'.repeat(40), action: 'update' }, HEAD))
  t.equal(updated.status, 'started')
  const fork = await send(gitLabMergeRequestPayload({ repoUrl: REPO, number: 5, headSha: 'f'.repeat(40), action: 'open', forkUrl: 'https://gitlab.com/mallory/app.git' }))
  t.match(await build(fork.builds[0]!.id), { request: { repo: REPO, push: false }, createdBy: { pullRequest: { fork: true } } })
})

t.test("a rule names its own provider's requests", async (t) => {
  const { app } = await setup(t)
  const wrong = await app.inject({ method: 'POST', url: '/v1/triggers', payload: { provider: 'gitlab', repo: REPO, branches: ['main'], events: ['pull_request'] } })
  t.equal(wrong.statusCode, 400)
  t.match(wrong.json(), { code: 'TRIGGER_EVENTS_INVALID', message: /GitLab sends merge requests, not pull requests: a GitLab rule takes events "push" and "merge_request"/ })
})
