import { randomBytes, randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { formatByteChange, formatBytes } from '../../src/domain/format.js'
import type { Build } from '../../src/domain/schemas/build.js'
import type { Trigger, TriggerEventResult } from '../../src/domain/schemas/trigger.js'
import type { Delivery } from '../../src/domain/schemas/webhook.js'
import { startForgeStandIn, type ForgeStandIn } from '../helpers/forge-stand-in.js'
import { createRepo, type TestRepo } from '../helpers/git-repo.js'
import { gitHubPullRequestPayload, gitHubPushPayload, gitLabMergeRequestPayload, sendGitHubEvent, sendGitLabEvent } from '../helpers/push-events.js'
import { redisDump } from '../helpers/redis-keys.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway, type TestSlipway } from '../helpers/slipway.js'

// The whole path, with real Redis, Docker, a registry and git repositories: GitHub and GitLab
// events signed as they sign them start builds; the builds set their commits' statuses and keep
// one comment per pull (merge) request on a recorded stand-in of each forge's API (the endpoints
// and headers of their public documentation), and the forge tokens Slipway holds appear in no
// log, answer or Redis value.

const GITHUB_TOKEN = `ghp_${randomBytes(18).toString('hex')}`
const GITLAB_TOKEN = `glpat-${randomBytes(10).toString('hex')}`
const DOCKERFILE = 'FROM busybox\nCOPY payload.txt /payload.txt\n'

interface Setup {
  slipway: TestSlipway
  forge: ForgeStandIn
  repo: TestRepo
  logs: string[]
  rule: (provider: 'github' | 'gitlab', extra?: object) => Promise<Trigger>
  /** Waits for a build's reports to settle: its final event's deliveries made (`finalOnes`: a status, and a comment for a pull request), and every delivery delivered, failed or abandoned. */
  settled: (buildId: string, finalOnes?: number) => Promise<Delivery[]>
}

async function setup (t: Test): Promise<Setup> {
  const forge = await startForgeStandIn(t, { tokens: { github: { 'acme/app': GITHUB_TOKEN }, gitlab: { 'acme/app': GITLAB_TOKEN } } })
  const logs: string[] = []
  const logger = pino({ level: 'debug' }, new Writable({ write (chunk: Buffer, _encoding, done) { logs.push(chunk.toString('utf8')); done() } }))
  const slipway = await startSlipway(
    t,
    { secretsKey: randomBytes(32).toString('base64'), githubApiUrl: forge.githubUrl, gitlabApiUrl: forge.gitlabUrl, publicUrl: 'https://slipway.example', webhookBackoffMs: 100 },
    logger
  )
  for (const [id, value] of [['github-status', GITHUB_TOKEN], ['gitlab-status', GITLAB_TOKEN]]) {
    const made = await slipway.app.inject({ method: 'POST', url: '/v1/secrets', payload: { id, value, repos: ['**'] } })
    t.equal(made.statusCode, 201, made.body)
  }
  const repo = await createRepo(t, { Dockerfile: DOCKERFILE, 'payload.txt': 'main\n' })
  const rule = async (provider: 'github' | 'gitlab', extra: object = {}) => {
    const report = { provider, repo: 'acme/app', token: `${provider}-status` }
    const events = ['push', provider === 'github' ? 'pull_request' : 'merge_request']
    const response = await slipway.app.inject({ method: 'POST', url: '/v1/triggers', payload: { provider, repo: repo.url, branches: ['main'], events, build: { report }, ...extra } })
    t.equal(response.statusCode, 201, response.body)
    return response.json<Trigger>()
  }
  const settled = async (buildId: string, finalOnes = 1) => {
    const deadline = Date.now() + 30_000
    for (;;) {
      const deliveries = (await slipway.app.inject({ method: 'GET', url: `/v1/builds/${buildId}/deliveries?limit=100` })).json<{ items: Delivery[] }>().items
      const final = deliveries.filter((delivery) => !['build.queued', 'build.started'].includes(delivery.event))
      if (final.length === finalOnes && deliveries.every((delivery) => delivery.status !== 'pending')) return deliveries
      if (Date.now() > deadline) throw new Error(`deliveries of ${buildId} still pending: ${JSON.stringify(deliveries)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return { slipway, forge, repo, logs, rule, settled }
}

const started = async (response: { statusCode: number; json<T>(): T; body: string }, slipway: TestSlipway) => {
  if (response.statusCode !== 202) throw new Error(`the event answered ${response.statusCode}: ${response.body}`)
  const [build] = response.json<TriggerEventResult>().builds
  return slipway.wait(build!.id)
}

/** The states a commit's statuses went through on the stand-in (the calls it accepted), in order, with their descriptions. */
function statusTrail (forge: ForgeStandIn, provider: 'github' | 'gitlab', sha: string): string[] {
  const path = provider === 'github' ? `/repos/acme/app/statuses/${sha}` : `/projects/acme%2Fapp/statuses/${sha}`
  return forge.calls
    .filter((call) => call.provider === provider && call.method === 'POST' && call.path === path && call.statusCode < 300)
    .map((call) => JSON.parse(call.body) as { state: string; description: string })
    .map((status) => `${status.state}: ${status.description}`)
}

t.test('GitHub: a push to main and a pull request into it set their statuses; the request has one comment, updated in place, with the real size change', async (t) => {
  const { slipway, forge, repo, logs, rule, settled } = await setup(t)
  const github = await rule('github')

  const mainCommit = await repo.commit({ 'payload.txt': 'main, again\n' })
  const mainBuild = await started(await sendGitHubEvent(slipway.app, { secret: github.secret!, body: gitHubPushPayload({ repoUrl: repo.url, ref: 'refs/heads/main', after: mainCommit }) }), slipway)
  t.equal(mainBuild.status, 'succeeded', JSON.stringify(mainBuild.error))
  t.equal(mainBuild.resolvedRef, 'refs/heads/main', 'a pushed commit continues its branch')
  const mainDeliveries = await settled(mainBuild.id)
  t.same(statusTrail(forge, 'github', mainCommit).map((line) => line.split(':')[0]), ['pending', 'pending', 'success'], 'queued, running, succeeded')
  t.match(statusTrail(forge, 'github', mainCommit)[2], new RegExp(`^success: ${formatBytes(mainBuild.image!.sizeBytes).replace('.', '\\.')}`), 'the summary starts with the size')
  t.ok(mainDeliveries.every((delivery) => delivery.type === 'commit-status' && delivery.status === 'delivered'), 'each status is a delivery, recorded')
  const statusCall = forge.calls.find((call) => call.provider === 'github' && call.method === 'POST')!
  t.match(statusCall, { path: `/repos/acme/app/statuses/${mainCommit}`, headers: { authorization: `Bearer ${GITHUB_TOKEN}`, accept: 'application/vnd.github+json' } })
  t.match(JSON.parse(statusCall.body), { context: 'slipway', target_url: `https://slipway.example/portal/#/builds/${mainBuild.id}` })

  // A pull request from a branch that adds a megabyte: its head lives in the repository under refs/pull/1/head.
  await repo.branch('feature')
  await repo.checkout('feature')
  const first = await repo.commit({ 'payload.txt': 'x'.repeat(1024 * 1024) })
  await repo.git('update-ref', 'refs/pull/1/head', first)
  const opened = gitHubPullRequestPayload({ repoUrl: repo.url, number: 1, headSha: first, action: 'opened' })
  const deliveryId = randomUUID()
  const prBuild = await started(await sendGitHubEvent(slipway.app, { secret: github.secret!, body: opened, event: 'pull_request', deliveryId }), slipway)
  t.equal(prBuild.status, 'succeeded', JSON.stringify(prBuild.error))
  t.equal(prBuild.commit, first)
  t.equal(prBuild.image?.pushed, false)
  await settled(prBuild.id, 2)
  t.same(statusTrail(forge, 'github', first).map((line) => line.split(':')[0]), ['pending', 'pending', 'success'])
  t.match(statusTrail(forge, 'github', first)[2], /\+1\.05 MB vs main/, 'the status says what the request adds (a MiB, in MB)')
  const [comment] = forge.comments('github', 'acme/app', 1)
  t.ok(comment, 'one comment on the pull request')
  t.match(comment!.body, /<!-- slipway:slipway -->/)
  t.match(comment!.body, formatBytes(prBuild.image!.sizeBytes), 'the real size')
  t.match(comment!.body, /COPY payload\.txt \/payload\.txt/, 'the layer that grew, with its instruction')

  // The same delivery again starts nothing, so no status or comment is written twice.
  const callsBefore = forge.calls.length
  const again = await sendGitHubEvent(slipway.app, { secret: github.secret!, body: opened, event: 'pull_request', deliveryId })
  t.equal(again.json<TriggerEventResult>().status, 'duplicate')
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.equal(forge.calls.length, callsBefore, 'a redelivered event writes nothing')

  // A second push to the request, while the forge answers its final status and the comment's edit 502 once each: retried, and the one comment is edited.
  const second = await repo.commit({ 'payload.txt': 'y'.repeat(2 * 1024 * 1024) })
  await repo.git('update-ref', 'refs/pull/1/head', second)
  forge.failNext(2, 502, (call) => call.method === 'PATCH' || call.body.includes('"state":"success"'))
  const prBuild2 = await started(await sendGitHubEvent(slipway.app, { secret: github.secret!, body: gitHubPullRequestPayload({ repoUrl: repo.url, number: 1, headSha: second, action: 'synchronize' }), event: 'pull_request' }), slipway)
  const deliveries2 = await settled(prBuild2.id, 2)
  const retried = deliveries2.filter((delivery) => delivery.attempts.map((attempt) => attempt.statusCode).join() === `502,${delivery.type === 'commit-status' ? 201 : 200}` && delivery.status === 'delivered')
  t.same(retried.map((delivery) => delivery.type).sort(), ['commit-status', 'pull-request-comment'], 'each 502 was retried, and went through')
  t.same(statusTrail(forge, 'github', second).map((line) => line.split(':')[0]), ['pending', 'pending', 'success'], 'in order despite the retry')
  const comments = forge.comments('github', 'acme/app', 1)
  t.equal(comments.length, 1, 'still one comment')
  t.match(comments[0]!.body, second.slice(0, 7), 'now about the newer head')
  t.match(comments[0]!.body, `${formatBytes(prBuild2.image!.sizeBytes)}, ${formatByteChange(prBuild2.image!.sizeBytes - mainBuild.image!.sizeBytes)} vs main`, "the real sizes: the request's image against main's")
  t.equal(forge.calls.filter((call) => call.method === 'POST' && call.path === '/repos/acme/app/issues/1/comments').length, 1, 'created once')
  t.ok(forge.calls.some((call) => call.method === 'PATCH' && call.path === `/repos/acme/app/issues/comments/${comments[0]!.id}`), 'then edited in place')

  // The token went only into the Authorization header of calls to the forge.
  const answers = [
    ...(await Promise.all([mainBuild.id, prBuild.id, prBuild2.id].map((id) => slipway.app.inject({ method: 'GET', url: `/v1/builds/${id}/deliveries` })))).map((response) => response.body),
    (await slipway.app.inject({ method: 'GET', url: '/v1/builds' })).body,
    (await slipway.app.inject({ method: 'GET', url: `/v1/triggers/${github.id}` })).body,
    (await slipway.app.inject({ method: 'GET', url: '/v1/secrets' })).body
  ]
  for (const text of [...answers, logs.join(''), await redisDump(slipway.config)]) t.notMatch(text, GITHUB_TOKEN, 'no token in answers, logs or Redis')
  t.ok(forge.calls.every((call) => !call.body.includes(GITHUB_TOKEN)), 'nor in any body sent to the forge')
})

t.test('GitHub: failed and canceled builds end their statuses as failure and error', async (t) => {
  const { slipway, forge, repo, rule, settled } = await setup(t)
  const github = await rule('github')
  const broken = await repo.commit({ Dockerfile: 'FROM busybox\nRUN exit 3\n' })
  const failed = await started(await sendGitHubEvent(slipway.app, { secret: github.secret!, body: gitHubPushPayload({ repoUrl: repo.url, ref: 'refs/heads/main', after: broken }) }), slipway)
  t.equal(failed.status, 'failed')
  await settled(failed.id)
  t.match(statusTrail(forge, 'github', broken), ['pending: Queued', /^pending: Building/, /^failure: /])

  const slow = await repo.commit({ Dockerfile: 'FROM busybox\nRUN sleep 60\n' })
  const response = await sendGitHubEvent(slipway.app, { secret: github.secret!, body: gitHubPushPayload({ repoUrl: repo.url, ref: 'refs/heads/main', after: slow }) })
  const id = response.json<TriggerEventResult>().builds[0]!.id
  // Canceled while its RUN step runs. (Canceled the moment it turned running, once under load, the
  // worker let an AbortError go unhandled for a moment: noted on issue 21, not this test's subject.)
  const sleeping = (build: Build) => build.steps.some((step) => step.instruction.includes('sleep 60') && step.status === 'running')
  for (let i = 0; i < 600 && !sleeping((await slipway.app.inject({ method: 'GET', url: `/v1/builds/${id}` })).json<Build>()); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  await slipway.app.inject({ method: 'POST', url: `/v1/builds/${id}/cancel` })
  t.equal((await slipway.wait(id)).status, 'canceled')
  await settled(id)
  t.match(statusTrail(forge, 'github', slow), ['pending: Queued', /^pending: Building/, /^error: Canceled/], 'GitHub has no canceled state: error, saying so')
})

t.test('GitLab: a merge request from a fork is built, never pushed, and reported; its note is written once and updated', async (t) => {
  const { slipway, forge, repo, rule, settled } = await setup(t)
  const registry = await startRegistry(t)
  const gitlab = await rule('gitlab', { pushPullRequests: true, build: { image: `${registry.host}/acme/app`, report: { provider: 'gitlab', repo: 'acme/app', token: 'gitlab-status' } } })
  await repo.branch('fork-work')
  await repo.checkout('fork-work')
  const head = await repo.commit({ 'payload.txt': 'from a fork\n' })
  await repo.git('update-ref', 'refs/merge-requests/3/head', head)
  const body = gitLabMergeRequestPayload({ repoUrl: repo.url, number: 3, headSha: head, action: 'open', forkUrl: 'https://gitlab.com/mallory/app.git' })
  const build = await started(await sendGitLabEvent(slipway.app, { token: gitlab.secret!, body, event: 'Merge Request Hook' }), slipway)
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  t.equal(build.request.push, false, "a fork's image is never pushed, whatever the rule says")
  t.equal(build.image?.pushed, false)
  const tags = await fetch(`http://${registry.host}/v2/acme/app/tags/list`)
  t.not(tags.status, 200, 'nothing reached the registry')
  await settled(build.id, 2)
  t.same(statusTrail(forge, 'gitlab', head).map((line) => line.split(':')[0]), ['pending', 'running', 'success'], "GitLab's own states")
  const statusCall = forge.calls.find((call) => call.provider === 'gitlab' && call.method === 'POST')!
  t.match(statusCall, { path: `/projects/acme%2Fapp/statuses/${head}`, headers: { 'private-token': GITLAB_TOKEN } })
  t.match(JSON.parse(statusCall.body), { ref: 'refs/merge-requests/3/head', name: 'slipway' }, "a fork's head is under the request's ref in the project")
  t.equal(forge.comments('gitlab', 'acme/app', 3).length, 1, 'one note on the merge request')

  const next = await repo.commit({ 'payload.txt': 'from a fork, again\n' })
  await repo.git('update-ref', 'refs/merge-requests/3/head', next)
  const update = gitLabMergeRequestPayload({ repoUrl: repo.url, number: 3, headSha: next, action: 'update', forkUrl: 'https://gitlab.com/mallory/app.git' }, head)
  const build2 = await started(await sendGitLabEvent(slipway.app, { token: gitlab.secret!, body: update, event: 'Merge Request Hook' }), slipway)
  await settled(build2.id, 2)
  const notes = forge.comments('gitlab', 'acme/app', 3)
  t.equal(notes.length, 1, 'still one note')
  t.match(notes[0]!.body, next.slice(0, 7))
})
