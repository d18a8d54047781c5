import t from 'tap'
import type { Build, BuildSummary, Image, Phase, Step } from '../../../../src/domain/schemas/build.js'
import { attemptRecord } from '../../../../workers/build-progress.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'

// GET /v1/builds answers a poller that shows its ETag with 304 and no body while the page is
// unchanged, and with the page again once a build on it changed (or a new one arrived).

t.test('GET /v1/builds: a weak ETag; If-None-Match gets 304 until a build on the page changes', async (t) => {
  const app = await buildApp(t, testConfig(t))
  const submit = async (repo: string) => (await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo, force: true } })).json<Build>()
  const list = (headers: Record<string, string> = {}, query = 'limit=50') => app.inject({ method: 'GET', url: `/v1/builds?${query}`, headers })
  const first = await submit('https://git.example.com/team/a.git')
  await submit('https://git.example.com/team/b.git')

  const answer = await list()
  t.equal(answer.statusCode, 200)
  const etag = answer.headers.etag as string
  t.match(etag, /^W\/"[\w-]{27}"$/, 'a weak ETag')
  t.equal((await list()).headers.etag, etag, 'the same page, the same ETag')

  const unchanged = await list({ 'if-none-match': etag })
  t.equal(unchanged.statusCode, 304, 'unchanged: 304')
  t.equal(unchanged.body, '', 'with no body')
  t.equal(unchanged.headers['content-length'], undefined, 'nor a length of one')
  t.equal(unchanged.headers.etag, etag, 'and the ETag again')
  t.equal((await list({ 'if-none-match': `W/"other", ${etag.slice(2)}` })).statusCode, 304, 'one tag of a list matches, W/ or not (weak comparison)')
  t.equal((await list({ 'if-none-match': '*' })).statusCode, 304, '* matches any answer')
  t.equal((await list({ 'if-none-match': etag }, 'limit=1')).statusCode, 200, 'another page has another ETag')

  const canceled = await app.inject({ method: 'POST', url: `/v1/builds/${first.id}/cancel` })
  t.equal(canceled.statusCode, 202)
  const changed = await list({ 'if-none-match': etag })
  t.equal(changed.statusCode, 200, 'a build on the page changed status: the page again')
  t.not(changed.headers.etag, etag, 'under a new ETag')
  t.equal(changed.json<{ items: Build[] }>().items.find((build) => build.id === first.id)?.status, 'canceled')

  const newer = await submit('https://git.example.com/team/c.git')
  const arrived = await list({ 'if-none-match': changed.headers.etag as string })
  t.equal(arrived.statusCode, 200, 'a new build: the page again')
  t.equal(arrived.json<{ items: Build[] }>().items[0]?.id, newer.id)
})

// A running build rewrites its phases and steps every few hundred milliseconds (workers/build-progress.ts):
// a full page changes with them, a summary page does not, so a poller of the summary gets 304s
// until a build on the page changes status or a new one arrives.
t.test("GET /v1/builds?view=summary: a running build's progress is no change; its status, or a new build, is", async (t) => {
  const app = await buildApp(t, testConfig(t))
  const store = app.storage.builds
  const submit = async (repo: string) => (await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo, force: true } })).json<Build>()
  const list = (query: string, etag?: string) => app.inject({ method: 'GET', url: `/v1/builds?limit=50&${query}`, headers: etag ? { 'if-none-match': etag } : {} })
  await submit('https://git.example.com/team/a.git')
  const running = await submit('https://git.example.com/team/b.git')

  // Started as a worker starts it, then its progress written as the worker writes it.
  const startedAt = new Date().toISOString()
  if (!(await store.transition(running.id, { from: ['queued'], to: 'running', attempt: 0, set: { startedAt, attempts: 1, ranOn: { worker: 'host:1', engine: { id: 'E1', name: 'engine-1' } }, phases: [], steps: [] } }))) {
    throw new Error('the build did not start')
  }
  const record = attemptRecord(store, running.id, 1, (text) => text)
  const phase: Phase = { name: 'build', status: 'running', startedAt, finishedAt: null, durationMs: null }
  const step = (n: number, status: Step['status']): Step => ({ stage: null, instruction: `RUN step ${n}`, status, cached: false, startedAt, durationMs: status === 'running' ? null : 100 * n })
  const progress = async (n: number) => {
    if (!(await record.update({ phases: [phase], steps: [...Array.from({ length: n }, (_, i) => step(i + 1, 'succeeded')), step(n + 1, 'running')] }))) throw new Error('no progress written')
  }
  await progress(0)

  const summary = await list('view=summary')
  t.equal(summary.statusCode, 200)
  let etag = summary.headers.etag as string
  t.match(etag, /^W\/"[\w-]{27}"$/, 'a weak ETag')
  const item = summary.json<{ items: BuildSummary[] }>().items.find((build) => build.id === running.id)
  const full = (await app.inject({ method: 'GET', url: `/v1/builds/${running.id}` })).json<Build>()
  t.has(full, item, 'each item is fields of the build, as GET /v1/builds/{id} has them')
  t.same(Object.keys(item?.request ?? {}).sort(), ['dockerfile', 'image', 'ref', 'repo', 'tags', 'target'], 'of its request, what names what is built')
  t.notOk(item && ('steps' in item || 'phases' in item), 'and none of what changes as it runs')
  t.same(item?.ranOn, { worker: 'host:1', engine: { id: 'E1', name: 'engine-1' } })

  // An ended build's image is named by its tags and size; its layers and findings stay in the full view.
  const imaged = await submit('https://git.example.com/team/d.git')
  const image: Image = { id: 'sha256:1', repository: 'registry.example.com/team/d', tags: ['registry.example.com/team/d:v1'], pushed: true, digest: null, sizeBytes: 5_000_000, layers: [{ instruction: 'COPY . /app', sizeBytes: 5_000_000, createdAt: null, line: 2, stage: null, fromBase: false }], baseBytes: 0, addedBytes: 5_000_000, sizeDelta: null, findings: [], budget: null }
  if (!(await store.transition(imaged.id, { from: ['queued'], to: 'succeeded', set: { image } }))) throw new Error('the build did not end')
  const withImage = await list('view=summary')
  t.same(withImage.json<{ items: BuildSummary[] }>().items.find((build) => build.id === imaged.id)?.image, { tags: image.tags, sizeBytes: image.sizeBytes }, 'an image: its tags and size')
  etag = withImage.headers.etag as string

  const fullEtag = (await list('view=full')).headers.etag as string
  for (let n = 1; n <= 3; n++) {
    await progress(n)
    const polled = await list('view=summary', etag)
    t.equal(polled.statusCode, 304, `step ${n} ended and step ${n + 1} started: the summary page is 304`)
    t.equal(polled.body, '', 'with no body')
  }
  const fullAgain = await list('view=full', fullEtag)
  t.equal(fullAgain.statusCode, 200, 'the full page changed with the steps')
  t.equal(fullAgain.json<{ items: Build[] }>().items.find((build) => build.id === running.id)?.steps.length, 4, 'and carries them')

  const finishedAt = new Date().toISOString()
  if (!(await record.end('succeeded', { finishedAt, durationMs: 1234, phases: [{ ...phase, status: 'succeeded', finishedAt, durationMs: 1234 }] }))) throw new Error('the build did not end')
  const ended = await list('view=summary', etag)
  t.equal(ended.statusCode, 200, 'the build succeeded: the summary page again')
  t.not(ended.headers.etag, etag, 'under a new ETag')
  t.match(ended.json<{ items: BuildSummary[] }>().items.find((build) => build.id === running.id), { status: 'succeeded', finishedAt, durationMs: 1234 })

  const newer = await submit('https://git.example.com/team/c.git')
  const arrived = await list('view=summary', ended.headers.etag)
  t.equal(arrived.statusCode, 200, 'a new build: the page again')
  t.equal(arrived.json<{ items: BuildSummary[] }>().items[0]?.id, newer.id)
  t.equal((await list('view=summary', arrived.headers.etag as string)).statusCode, 304, 'and 304 once more')
})

t.test('GET /v1/builds without view is the full view: each item the build as GET /v1/builds/{id} answers it', async (t) => {
  const app = await buildApp(t, testConfig(t))
  const submitted = (await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: 'https://git.example.com/team/a.git', force: true } })).json<Build>()
  const plain = await app.inject({ method: 'GET', url: '/v1/builds' })
  const full = await app.inject({ method: 'GET', url: '/v1/builds?view=full' })
  t.equal(plain.body, full.body, 'view=full is the default')
  t.equal(plain.headers.etag, full.headers.etag)
  t.same(plain.json<{ items: Build[], nextCursor: string | null }>(), { items: [(await app.inject({ method: 'GET', url: `/v1/builds/${submitted.id}` })).json<Build>()], nextCursor: null })
  t.equal((await app.inject({ method: 'GET', url: '/v1/builds?view=brief' })).statusCode, 400, 'an unknown view is refused')
})
