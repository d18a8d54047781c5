import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { postCommitStatus, upsertComment, type CommitState, type ForgeTarget } from '../../../workers/reports/forge-client.js'
import { startForgeStandIn as start } from '../../helpers/forge-stand-in.js'
import { freePort } from '../../helpers/ports.js'

// The forge client against the stand-in for GitHub's and GitLab's APIs (test/helpers/forge-stand-in.ts),
// which checks tokens, bodies and GitLab's status transitions as the providers do and records every call.

const GITHUB_TOKEN = 'ghp_0123456789abcdefghijABCDEFGHIJ012345'
const GITLAB_TOKEN = 'glpat-0123456789abcdefghij'
const SHA = 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3'
const TIMEOUT = { timeoutMs: 5000 }

async function setUp (t: Test) {
  const forge = await start(t, { tokens: { github: { 'acme/app': GITHUB_TOKEN }, gitlab: { 'acme/sub/app': GITLAB_TOKEN } } })
  const github: ForgeTarget = { provider: 'github', apiUrl: `${forge.githubUrl}/`, repo: 'acme/app', token: GITHUB_TOKEN }
  const gitlab: ForgeTarget = { provider: 'gitlab', apiUrl: `${forge.gitlabUrl}//`, repo: 'acme/sub/app', token: GITLAB_TOKEN }
  return { forge, github, gitlab }
}

/** Tokens travel only in the auth header: never in a path, a body or another header. */
function assertTokensOnlyInAuth (t: Test, forge: Awaited<ReturnType<typeof start>>) {
  for (const call of forge.calls) {
    for (const token of [GITHUB_TOKEN, GITLAB_TOKEN]) {
      t.notOk(call.body.includes(token), `${call.method} ${call.path}: no token in the body`)
      t.notOk(call.path.includes(token), `${call.method} ${call.path}: no token in the path`)
      for (const [name, value] of Object.entries(call.headers)) {
        if (name === 'authorization' || name === 'private-token') continue
        t.notOk(String(value).includes(token), `${call.method} ${call.path}: no token in ${name}`)
      }
    }
  }
}

t.test('GitHub commit statuses: the mapped states, the documented headers and body', async (t) => {
  const { forge, github } = await setUp(t)
  const expected: Record<CommitState, string> = { pending: 'pending', running: 'pending', success: 'success', failure: 'failure', canceled: 'error' }
  for (const state of Object.keys(expected) as CommitState[]) {
    const result = await postCommitStatus(github, { sha: SHA, state, context: 'slipway/app', description: `build ${state}`, targetUrl: 'https://slipway.example.com/builds/b1' }, TIMEOUT)
    t.equal(result.statusCode, 201, state)
    t.equal(result.error, null)
    t.ok(result.response?.startsWith('{'), 'the answer is kept')
  }
  t.same(forge.statuses('github', 'acme/app', SHA).map((status) => status.state), ['pending', 'pending', 'success', 'failure', 'error'])
  const call = forge.calls[0]!
  t.equal(call.method, 'POST')
  t.equal(call.path, `/repos/acme/app/statuses/${SHA}`)
  t.equal(call.headers.authorization, `Bearer ${GITHUB_TOKEN}`)
  t.equal(call.headers.accept, 'application/vnd.github+json')
  t.equal(call.headers['x-github-api-version'], '2022-11-28')
  t.equal(call.headers['user-agent'], 'Slipway')
  t.equal(call.headers['content-type'], 'application/json')
  t.same(JSON.parse(call.body), { state: 'pending', context: 'slipway/app', description: 'build pending', target_url: 'https://slipway.example.com/builds/b1' })

  // No target URL: none sent. A long description is cut to GitHub's 140 characters, not refused.
  const long = await postCommitStatus(github, { sha: SHA, state: 'success', context: 'slipway/app', description: 'é'.repeat(200), targetUrl: null }, TIMEOUT)
  t.equal(long.statusCode, 201)
  const sent = JSON.parse(forge.calls.at(-1)!.body) as { description: string; target_url?: string }
  t.equal(Array.from(sent.description).length, 140)
  t.ok(sent.description.endsWith('…'))
  t.notOk('target_url' in sent)
  assertTokensOnlyInAuth(t, forge)
})

t.test('GitLab commit statuses: the mapped states, PRIVATE-TOKEN, the encoded project path', async (t) => {
  const { forge, gitlab } = await setUp(t)
  const post = (state: CommitState, context = 'slipway/app') => postCommitStatus(gitlab, { sha: SHA, state, context, description: `build ${state}`, targetUrl: 'https://slipway.example.com/builds/b1', ref: 'feature' }, TIMEOUT)

  for (const state of ['pending', 'running', 'success'] as const) t.match(await post(state), { statusCode: 201, error: null }, state)
  t.match(await post('failure', 'slipway/other'), { statusCode: 201, error: null })
  t.match(await post('canceled', 'slipway/third'), { statusCode: 201, error: null })
  t.same(forge.statuses('gitlab', 'acme/sub/app', SHA).map((status) => [status.name, status.status]), [['slipway/app', 'success'], ['slipway/other', 'failed'], ['slipway/third', 'canceled']])

  const call = forge.calls[0]!
  t.equal(call.path, `/projects/acme%2Fsub%2Fapp/statuses/${SHA}`)
  t.equal(call.headers['private-token'], GITLAB_TOKEN)
  t.equal(call.headers.authorization, undefined, 'the token goes only in PRIVATE-TOKEN')
  t.equal(call.headers['content-type'], 'application/json')
  t.same(JSON.parse(call.body), { state: 'pending', name: 'slipway/app', description: 'build pending', target_url: 'https://slipway.example.com/builds/b1', ref: 'feature' })
  t.same(JSON.parse(forge.calls[3]!.body).state, 'failed')
  assertTokensOnlyInAuth(t, forge)
})

t.test('GitLab: "Cannot transition status" after a call that had landed counts as success', async (t) => {
  const { forge, gitlab } = await setUp(t)
  const post = (state: CommitState) => postCommitStatus(gitlab, { sha: SHA, state, context: 'slipway/app', description: state, targetUrl: null }, TIMEOUT)
  t.match(await post('running'), { statusCode: 201, error: null })
  // The same call again, as a retry whose first try in fact landed: GitLab refuses :run from :running.
  const again = await post('running')
  t.equal(again.statusCode, 400, 'the status code is kept')
  t.equal(again.error, null)
  t.match(again.response, /Cannot transition status via :run from :running/)
  const late = await post('pending')
  t.equal(late.statusCode, 400)
  t.equal(late.error, null)
  t.match(late.response, /via :enqueue from :running/)
  t.same(forge.statuses('gitlab', 'acme/sub/app', SHA).map((status) => status.status), ['running'])
  // Other 400s stay failures.
  const refused = await postCommitStatus({ ...gitlab }, { sha: SHA, state: 'bogus' as CommitState, context: 'x', description: '', targetUrl: null }, TIMEOUT)
  t.equal(refused.statusCode, 400)
  t.match(refused.error, /GitLab answered 400/)
})

t.test('upsertComment: created once, then updated in place, by knownId and by the marker', async (t) => {
  const { forge, github, gitlab } = await setUp(t)
  for (const target of [github, gitlab]) {
    t.test(target.provider, async (t) => {
      const repo = target.repo
      const marker = '<!-- slipway:slipway/app -->'
      forge.addComment(target.provider, repo, 7, 'Looks good to me')
      const before = forge.calls.length

      const first = await upsertComment(target, { number: 7, marker, body: `${marker}\nbuild running` }, TIMEOUT)
      t.equal(first.error, null)
      t.equal(first.statusCode, 201)
      t.ok(first.commentId)
      const listed = target.provider === 'github' ? '/repos/acme/app/issues/7/comments' : '/projects/acme%2Fsub%2Fapp/merge_requests/7/notes'
      t.same(forge.calls.slice(before).map((call) => call.method + ' ' + call.path.split('?')[0]), [`GET ${listed}`, `POST ${listed}`], 'listed, not found, created')

      // By the marker (no knownId): found in the listing and updated.
      const second = await upsertComment(target, { number: 7, marker, body: `${marker}\nbuild succeeded` }, TIMEOUT)
      t.match(second, { statusCode: 200, error: null, commentId: first.commentId })
      const updateMethod = target.provider === 'github' ? 'PATCH' : 'PUT'
      t.equal(forge.calls.at(-1)!.method, updateMethod)

      // By knownId: one call.
      const mark = forge.calls.length
      const third = await upsertComment(target, { number: 7, marker, body: `${marker}\nbuild pushed`, knownId: first.commentId }, TIMEOUT)
      t.match(third, { statusCode: 200, error: null, commentId: first.commentId })
      t.equal(forge.calls.length, mark + 1)
      const path = target.provider === 'github' ? `/repos/acme/app/issues/comments/${first.commentId}` : `/projects/acme%2Fsub%2Fapp/merge_requests/7/notes/${first.commentId}`
      t.same([forge.calls.at(-1)!.method, forge.calls.at(-1)!.path], [updateMethod, path])
      t.same(JSON.parse(forge.calls.at(-1)!.body), { body: `${marker}\nbuild pushed` })

      const comments = forge.comments(target.provider, repo, 7)
      t.equal(comments.length, 2, 'one comment of Slipway, beside the other one')
      t.equal(comments[1]!.body, `${marker}\nbuild pushed`)

      // Deleted by someone: the knownId answers 404, the listing finds nothing, a new one is written.
      forge.deleteComment(target.provider, repo, 7, first.commentId!)
      const fourth = await upsertComment(target, { number: 7, marker, body: `${marker}\nagain`, knownId: first.commentId }, TIMEOUT)
      t.match(fourth, { statusCode: 201, error: null })
      t.not(fourth.commentId, first.commentId)
      t.same(forge.calls.slice(-3).map((call) => call.method), [updateMethod, 'GET', 'POST'])
      t.equal(forge.comments(target.provider, repo, 7).length, 2)
      t.ok(fourth.durationMs >= 0)
      assertTokensOnlyInAuth(t, forge)
    })
  }
})

t.test('upsertComment pages through the listing to find the marker', async (t) => {
  const { forge, github, gitlab } = await setUp(t)
  for (const target of [github, gitlab]) {
    for (let i = 0; i < 150; i++) forge.addComment(target.provider, target.repo, 3, `comment ${i}`)
    const id = forge.addComment(target.provider, target.repo, 3, 'old\n<!-- slipway:ctx -->')
    const before = forge.calls.length
    const result = await upsertComment(target, { number: 3, marker: '<!-- slipway:ctx -->', body: 'new\n<!-- slipway:ctx -->' }, TIMEOUT)
    t.match(result, { statusCode: 200, error: null, commentId: id }, target.provider)
    t.same(forge.calls.slice(before).map((call) => call.method), ['GET', 'GET', target.provider === 'github' ? 'PATCH' : 'PUT'])
    t.match(forge.calls[before + 1]!.path, /per_page=100&page=2/)
    t.equal(forge.comments(target.provider, target.repo, 3).length, 151)
  }
})

t.test('a marker someone else wrote into their own comment does not take the comment over', async (t) => {
  const { forge, github, gitlab } = await setUp(t)
  for (const target of [github, gitlab]) {
    // Written first, so a search oldest-first meets it before anything of Slipway's.
    const theirs = forge.addComment(target.provider, target.repo, 4, 'pwned <!-- slipway:ctx -->', true)
    const made = await upsertComment(target, { number: 4, marker: '<!-- slipway:ctx -->', body: 'ours <!-- slipway:ctx -->' }, TIMEOUT)
    t.match(made, { error: null, commentId: /^\d+$/ }, target.provider)
    t.not(made.commentId, theirs, 'a comment of our own, not theirs')
    const again = await upsertComment(target, { number: 4, marker: '<!-- slipway:ctx -->', body: 'ours, again <!-- slipway:ctx -->' }, TIMEOUT)
    t.equal(again.commentId, made.commentId, 'found again past theirs, and edited')
    t.same(forge.comments(target.provider, target.repo, 4).map((comment) => comment.body), ['pwned <!-- slipway:ctx -->', 'ours, again <!-- slipway:ctx -->'], 'theirs untouched')
  }
})

t.test('the answer kept is the last one\'s first 1024 bytes, no character cut in half', async (t) => {
  const { github } = await setUp(t)
  const result = await upsertComment(github, { number: 9, marker: '<!-- m -->', body: `<!-- m -->${'é'.repeat(2000)}` }, TIMEOUT)
  t.equal(result.statusCode, 201)
  const bytes = Buffer.byteLength(result.response!)
  t.ok(bytes <= 1024 && bytes >= 1022, `${bytes} bytes`)
  t.notOk(result.response!.includes('\uFFFD'))
})

t.test('a 502 is an error with its status code; a failing call in a sequence is the one reported', async (t) => {
  const { forge, github, gitlab } = await setUp(t)
  forge.failNext(1)
  const status = await postCommitStatus(github, { sha: SHA, state: 'success', context: 'c', description: '', targetUrl: null }, TIMEOUT)
  t.equal(status.statusCode, 502)
  t.match(status.error, /GitHub answered 502: the server failed; a later attempt may succeed/)
  t.equal(forge.statuses('github', 'acme/app', SHA).length, 0, 'not applied')

  // Created, then the update by knownId answers 503: that call's code and error are reported.
  const before = forge.calls.length
  const result = await upsertComment(gitlab, { number: 1, marker: '<!-- m -->', body: '<!-- m --> x' }, TIMEOUT)
  t.equal(result.error, null, 'nothing failing yet')
  forge.failNext(1, 503)
  const failed = await upsertComment(gitlab, { number: 1, marker: '<!-- m -->', body: '<!-- m --> y', knownId: result.commentId }, TIMEOUT)
  t.match(failed, { statusCode: 503, commentId: null })
  t.match(failed.error, /GitLab answered 503/)
  t.equal(forge.calls.length, before + 3)
})

t.test('a refused token: 401 says what to do and never carries the token', async (t) => {
  const { forge, github, gitlab } = await setUp(t)
  const wrongGithub = { ...github, token: 'ghp_wrongwrongwrongwrongwrongwrongwrong1' }
  const wrongGitlab = { ...gitlab, token: 'glpat-wrongwrongwrongwron' }
  const a = await postCommitStatus(wrongGithub, { sha: SHA, state: 'success', context: 'c', description: '', targetUrl: null }, TIMEOUT)
  t.equal(a.statusCode, 401)
  t.match(a.error, /^GitHub answered 401: the token was refused; check the stored secret/)
  t.match(a.error, /Bad credentials/)
  const b = await upsertComment(wrongGitlab, { number: 1, marker: '<!-- m -->', body: '<!-- m -->' }, TIMEOUT)
  t.match(b, { statusCode: 401, commentId: null })
  t.match(b.error, /^GitLab answered 401: the token was refused; check the stored secret/)
  for (const result of [a, b]) {
    for (const token of [wrongGithub.token, wrongGitlab.token]) {
      t.notOk(result.error!.includes(token))
      t.notOk(result.response?.includes(token))
    }
  }
  t.equal(forge.calls.length, 2, 'nothing more is tried after a 401')
})

t.test('the stand-in answers as the providers do', async (t) => {
  const { forge } = await setUp(t)
  const raw = (url: string, init: RequestInit) => fetch(url, init).then(async (response) => ({ status: response.status, body: await response.text() }))
  // GitHub without a User-Agent: 403. (fetch always sends one, so node:http-like: set it empty.)
  const noAgent = await raw(`${forge.githubUrl}/repos/acme/app/statuses/${SHA}`, { method: 'POST', headers: { authorization: `Bearer ${GITHUB_TOKEN}`, 'user-agent': '' }, body: '{"state":"success"}' })
  t.equal(noAgent.status, 403)
  t.match(noAgent.body, /User-Agent/)
  const headers = { authorization: `Bearer ${GITHUB_TOKEN}`, 'user-agent': 'test' }
  const badState = await raw(`${forge.githubUrl}/repos/acme/app/statuses/${SHA}`, { method: 'POST', headers, body: '{"state":"running"}' })
  t.equal(badState.status, 422)
  const tooLong = await raw(`${forge.githubUrl}/repos/acme/app/statuses/${SHA}`, { method: 'POST', headers, body: JSON.stringify({ state: 'success', description: 'x'.repeat(141) }) })
  t.equal(tooLong.status, 422)
  t.match(tooLong.body, /maximum is 140/)
  t.equal((await raw(`${forge.githubUrl}/repos/other/app/statuses/${SHA}`, { method: 'POST', headers, body: '{"state":"success"}' })).status, 404, 'a repository the token is not for')
  t.equal((await raw(`${forge.githubUrl}/nowhere`, { headers })).status, 404)
  t.same(JSON.parse((await raw(`${forge.githubUrl}/repos/acme/app/statuses/${SHA}`, { method: 'POST', headers: { 'user-agent': 'x', authorization: 'Bearer nope' }, body: '{}' })).body).message, 'Bad credentials')

  const lab = { 'private-token': GITLAB_TOKEN, 'content-type': 'application/json' }
  t.same(JSON.parse((await raw(`${forge.gitlabUrl}/projects/acme%2Fsub%2Fapp/statuses/${SHA}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"state":"success"}' })).body), { message: '401 Unauthorized' })
  t.same(JSON.parse((await raw(`${forge.gitlabUrl}/projects/acme%2Fsub%2Fapp/statuses/${SHA}`, { method: 'POST', headers: lab, body: '{"state":"error"}' })).body), { error: 'state does not have a valid value' })
  // A finished status is never transitioned: GitLab starts a new job of that name.
  const post = (state: string) => raw(`${forge.gitlabUrl}/projects/acme%2Fsub%2Fapp/statuses/${SHA}`, { method: 'POST', headers: lab, body: JSON.stringify({ state, name: 'n' }) })
  t.equal((await post('pending')).status, 201)
  const twice = await post('pending')
  t.equal(twice.status, 400)
  t.same(JSON.parse(twice.body), { message: 'Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via "enqueue")' })
  t.equal((await post('running')).status, 201, 'pending → running')
  t.equal((await post('success')).status, 201, 'running → success')
  t.equal((await post('running')).status, 201, 'after success: a new job, running')
  t.same(forge.statuses('gitlab', 'acme/sub/app', SHA).map((status) => status.status), ['success', 'running'])
  const longUrl = await raw(`${forge.gitlabUrl}/projects/acme%2Fsub%2Fapp/statuses/${SHA}`, { method: 'POST', headers: lab, body: JSON.stringify({ state: 'success', target_url: `https://x.example.com/${'a'.repeat(250)}` }) })
  t.same([longUrl.status, JSON.parse(longUrl.body)], [400, { message: { target_url: ['is too long (maximum is 255 characters)'] } }])
  t.equal((await raw(`${forge.gitlabUrl}/projects/acme%2Fsub%2Fapp/merge_requests/1/notes/999`, { method: 'PUT', headers: lab, body: '{"body":"x"}' })).status, 404)
})

t.test('a redirect is not followed; no answer and no server are errors without a status code', async (t) => {
  const server = createServer((request, response) => {
    if (request.url?.startsWith('/slow')) return // never answers
    response.writeHead(301, { location: 'https://elsewhere.example.com/api' }).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const status = { sha: SHA, state: 'success' as const, context: 'c', description: '', targetUrl: null }
  const moved = await postCommitStatus({ provider: 'github', apiUrl: base, repo: 'acme/app', token: GITHUB_TOKEN }, status, TIMEOUT)
  t.equal(moved.statusCode, 301)
  t.match(moved.error, /redirect to https:\/\/elsewhere.example.com\/api not followed; check the API URL/)
  const slow = await postCommitStatus({ provider: 'gitlab', apiUrl: `${base}/slow`, repo: 'acme/app', token: GITLAB_TOKEN }, status, { timeoutMs: 200 })
  t.match(slow, { statusCode: null, error: 'GitLab gave no answer within 0.2 s', response: null })
  const port = await freePort()
  const down = await upsertComment({ provider: 'github', apiUrl: `http://127.0.0.1:${port}`, repo: 'acme/app', token: GITHUB_TOKEN }, { number: 1, marker: 'm', body: 'm' }, TIMEOUT)
  t.match(down, { statusCode: null, commentId: null, response: null })
  t.match(down.error, /^could not reach GitHub at http:\/\/127.0.0.1:\d+: ECONNREFUSED/)
})
