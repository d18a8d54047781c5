import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import t from 'tap'
import { ulid } from 'ulid'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import { formatBytes } from '../../src/domain/format.js'
import type { Actor } from '../../src/domain/schemas/audit.js'
import type { Build, BuildRecord, Phase, Step } from '../../src/domain/schemas/build.js'
import { BUILD_QUEUE } from '../../src/storage/build-queue.js'
import { chromiumMissing, CHROMIUM, openPortal } from '../helpers/browser.js'
import { defaultRequest } from '../helpers/fixtures.js'
import { tarGz } from '../helpers/tarball.js'
import { attemptRecord } from '../../workers/build-progress.js'

// The builds list and the build page's header say who and what: what started each build (a token,
// a trigger rule and its push or pull request and who pushed, a retry), the image and tag, uploads by digest and
// size, relative times, short commits and refs; older builds a page at a time; and a refresh that
// touches only the rows whose build changed. An upload and a retry are made through the API with a
// read-write token (so createdBy is what the API records) and built by the real worker; the trigger
// builds and the 60 older ones are stored by hand, as the trigger service and earlier days leave them.

if (chromiumMissing) {
  t.plan(0, `the portal's browser tests need ${CHROMIUM} (Debian's chromium package; scripts/setup.sh installs it)`)
} else {
  const { slipway, storage, page, screenshot, visit } = await openPortal(t, 'ci-read')
  const writer = (await slipway.app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'ci-main', scopes: ['builds:read', 'builds:write'] } })).json<{ token: string }>().token
  const asWriter = { authorization: `Bearer ${writer}` }
  const text = (selector: string) => page.locator(selector).first().innerText()
  const cell = (id: string, column: string) => text(`tr[data-build="${id}"] td.${column}`)
  const REPO = 'https://git.example.com/acme/web.git'
  const COMMIT = '3f2a9c1d4e5f60718293a4b5c6d7e8f901234567'

  const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000)
  const record = (created: Date, createdBy: Actor | null, overrides: Partial<BuildRecord> = {}): BuildRecord => ({
    ...newBuildRecord(ulid(created.getTime()), defaultRequest(REPO, 'registry.example.com/acme/web'), created, createdBy),
    ...overrides
  })
  const ended = (created: Date, createdBy: Actor | null, overrides: Partial<BuildRecord> = {}): BuildRecord =>
    record(created, createdBy, { status: 'succeeded', commit: COMMIT, resolvedRef: 'refs/heads/main', startedAt: created.toISOString(), finishedAt: created.toISOString(), durationMs: 12_000, ...overrides })
  const image = (tags: string[], sizeBytes: number): BuildRecord['image'] => ({
    id: 'sha256:1',
    repository: 'registry.example.com/acme/web',
    tags,
    pushed: true,
    digest: `sha256:${'ab'.repeat(32)}`,
    sizeBytes,
    layers: [],
    baseBytes: 0,
    addedBytes: sizeBytes,
    sizeDelta: null,
    findings: [],
    budget: null
  })

  const bulkToken: Actor = { kind: 'token', id: 'tk0bulk', name: 'ci-bulk', deliveryId: null }
  // 62 builds of two to three hours ago: the newest 50 do not hold them all.
  const older = Array.from({ length: 62 }, (_, i) => ended(minutesAgo(120 + i), bulkToken))
  const pushed = ended(minutesAgo(30), { kind: 'trigger', id: 'rl0web', name: 'web-main', deliveryId: 'gh-delivery-1', ref: 'refs/heads/main', pusher: 'alice' }, {
    request: { ...defaultRequest(REPO, 'registry.example.com/acme/web'), ref: 'main', tags: ['v1.2', 'latest'] },
    image: image(['registry.example.com/acme/web:v1.2', 'registry.example.com/acme/web:latest'], 48_300_000)
  })
  const pullRequest = ended(minutesAgo(25), {
    kind: 'trigger',
    id: 'rl0prs',
    name: 'prs',
    deliveryId: 'gh-delivery-2',
    ref: 'refs/pull/7/head',
    pullRequest: { number: 7, headSha: COMMIT, sourceBranch: 'feature/login', targetBranch: 'main', fork: true },
    pusher: 'bob'
  }, { request: { ...defaultRequest(REPO), ref: 'refs/pull/7/head' } })
  // The service keeps only plain names; one stored otherwise (by hand, or an older Slipway) is still text, never markup.
  const MARKUP = '<img src=x id=injected>'
  const withMarkup = ended(minutesAgo(22), { kind: 'trigger', id: 'rl0web', name: 'web-main', deliveryId: 'gh-delivery-3', ref: 'refs/heads/main', pusher: MARKUP })
  // A ref given as a whole commit: 40 characters that must not stretch or break its row.
  const byCommit = ended(minutesAgo(20), { kind: 'token', id: 'admin', name: 'admin', deliveryId: null }, { request: { ...defaultRequest(REPO), ref: COMMIT }, resolvedRef: null })
  const unrecorded = ended(minutesAgo(15), null)
  const failed = ended(minutesAgo(10), bulkToken, { status: 'failed', error: { code: 'BUILD_STEP_FAILED', message: 'The step RUN exit 3 failed with exit code 3.', phase: 'build' } })
  for (const stored of [...older, pushed, pullRequest, withMarkup, byCommit, unrecorded, failed]) await storage.builds.create(stored)

  const tar = await tarGz([{ name: 'Dockerfile', content: 'FROM scratch\nCOPY hello /hello\n' }, { name: 'hello', content: 'hello\n' }])
  const uploaded = (
    await slipway.app.inject({ method: 'POST', url: `/v1/builds?options=${encodeURIComponent(JSON.stringify({ tags: ['upload-1'] }))}`, headers: { ...asWriter, 'content-type': 'application/gzip' }, payload: tar })
  ).json<Build>()
  const retried = (await slipway.app.inject({ method: 'POST', url: `/v1/builds/${failed.id}/retry`, headers: asWriter })).json<Build>()
  // Both are built (or fail to clone) by the worker; the list is looked at once they have ended.
  await slipway.wait(uploaded.id)
  await slipway.wait(retried.id)
  const source = uploaded.request.source!
  const total = older.length + 8

  t.test('the list says what started each build: token, trigger and its push or pull request, retry', async (t) => {
    await visit('#/builds')
    await page.locator(`tr[data-build="${uploaded.id}"]`).waitFor()
    t.equal(await cell(uploaded.id, 'started-by'), 'token ci-main', 'an upload through the API: the token that sent it')
    t.equal(await cell(retried.id, 'started-by'), `retry of …${failed.id.slice(-6)} by token ci-main`, 'a retry: of which build (by the end of its id), by whom')
    const retriedLink = page.locator(`tr[data-build="${retried.id}"] td.started-by a`)
    t.equal(await retriedLink.getAttribute('href'), `#/builds/${failed.id}`, 'the retried build is a link')
    t.equal(await retriedLink.getAttribute('title'), `Build ${failed.id}`, 'its whole id on hover')
    t.equal(await cell(pushed.id, 'started-by'), 'push to main by alice (trigger rule web-main)', 'a trigger: the push it acted on and who the event says pushed')
    t.equal(await cell(pullRequest.id, 'started-by'), 'pull request #7 feature/login → main from a fork by bob (trigger rule prs)', 'and a pull request')
    t.equal(await cell(withMarkup.id, 'started-by'), `push to main by ${MARKUP} (trigger rule web-main)`, 'a pusher is shown as text')
    t.equal(await page.locator('#injected').count(), 0, 'never as markup')
    t.equal(await page.locator(`tr[data-build="${pullRequest.id}"] td.started-by`).getAttribute('title'), 'trigger rule prs (id rl0prs, delivery gh-delivery-2)', 'the ids on hover')
    t.equal(await cell(byCommit.id, 'started-by'), 'the admin token')
    t.equal(await cell(unrecorded.id, 'started-by'), 'not recorded', 'a build from before Slipway recorded it')
    await screenshot('builds-list-01-read-only')
  })

  t.test('what was built: image and tag, upload digest and size, short commits and refs, relative times', async (t) => {
    t.equal(await cell(pushed.id, 'image'), 'web:v1.2 +1', 'the image by its name and first tag, and how many more')
    t.equal(await page.locator(`tr[data-build="${pushed.id}"] td.image code`).getAttribute('title'), 'registry.example.com/acme/web:v1.2\nregistry.example.com/acme/web:latest', 'all its references on hover')
    t.equal(await cell(uploaded.id, 'image'), 'upload:upload-1', 'an upload: the local image and its tag')
    t.equal(await cell(uploaded.id, 'source'), `upload ${source.sha256.slice(0, 12)} (${formatBytes(source.sizeBytes)})`, 'an upload by its digest and size')
    t.equal(await page.locator(`tr[data-build="${uploaded.id}"] td.source span`).getAttribute('title'), `sha256:${source.sha256}`)
    t.equal(await cell(uploaded.id, 'ref'), '–', 'and no ref, not "default branch"')
    t.equal(await cell(pushed.id, 'commit'), COMMIT.slice(0, 12), 'a short commit')
    t.equal(await page.locator(`tr[data-build="${pushed.id}"] td.commit code`).getAttribute('title'), COMMIT, 'whole on hover')
    t.equal(await cell(byCommit.id, 'ref'), COMMIT.slice(0, 12), 'a ref that is a commit, shortened too')
    const height = (id: string) => page.locator(`tr[data-build="${id}"]`).evaluate((row) => row.getBoundingClientRect().height)
    t.equal(await height(byCommit.id), await height(unrecorded.id), 'its row is no taller than the others')
    t.equal(await cell(pushed.id, 'ref'), 'main')

    const submitted = page.locator(`tr[data-build="${pushed.id}"] td.submitted time`)
    t.equal(await submitted.innerText(), '30 min ago', 'a relative time')
    t.equal(await submitted.getAttribute('datetime'), pushed.createdAt)
    t.equal(await submitted.getAttribute('title'), await page.evaluate(`new Date(${JSON.stringify(pushed.createdAt)}).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })`), 'the exact time on hover')
    t.match(await cell(older[0]!.id, 'submitted'), /^2 h( \d+ min)? ago$/)
  })

  t.test('the newest 50, then older builds a page at a time; a refresh keeps them', async (t) => {
    t.equal(await page.locator('#builds tbody tr').count(), 50, 'the newest 50')
    t.ok(await page.locator('#older-builds').isVisible(), 'and a button for older ones')
    await page.focus('#older-builds')
    await page.keyboard.press('Enter')
    await page.locator(`tr[data-build="${older.at(-1)!.id}"]`).waitFor()
    const ids = await page.locator('#builds tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-build')))
    t.equal(ids.length, total, 'every build, once')
    t.ok(await page.locator('#builds').evaluate((list) => list.scrollWidth <= list.clientWidth), 'every column fits a 1280 px window')
    t.same(ids, [...ids].sort().reverse(), 'newest first')
    t.ok(await page.locator('#older-builds').isHidden(), 'no more to show')
    t.equal(await text('#all-shown'), `All ${total} builds are shown.`)
    const stamp = await text('#builds-updated')
    await page.locator('#builds-updated', { hasNotText: stamp }).waitFor()
    t.equal(await page.locator('#builds tbody tr').count(), total, 'a refresh of the newest page leaves the older rows')
    await screenshot('builds-list-02-all-pages')
  })

  t.test('a refresh answered 304 touches no row; a status change replaces its row alone, keeping the focus', async (t) => {
    // Queued with no job: nothing takes it before the test cancels it (the reconciler waits 30 s).
    const queued = record(minutesAgo(5), bulkToken)
    await storage.builds.create(queued)
    await visit('#/builds')
    await page.locator(`tr[data-build="${queued.id}"]`).waitFor()
    const answers: number[] = []
    page.on('response', (response) => {
      if (new URL(response.url()).pathname === '/v1/builds') answers.push(response.status())
    })
    await page.evaluate("window.keptRows = new Map([...document.querySelectorAll('#builds tbody tr')].map((row) => [row.dataset.build, row]))")
    const kept = (id: string) => page.evaluate(`window.keptRows.get(${JSON.stringify(id)}) === document.querySelector('tr[data-build="${id}"]')`)
    const keptCount = () => page.evaluate('[...window.keptRows].filter(([id, row]) => row === document.querySelector(`tr[data-build="${id}"]`)).length')
    for (let refreshes = 0; refreshes < 2; refreshes++) {
      const stamp = await text('#builds-updated')
      await page.locator('#builds-updated', { hasNotText: stamp }).waitFor()
    }
    t.ok(answers.length >= 2 && answers.every((status) => status === 304), `unchanged: each refresh answered 304 (${answers.join(', ')})`)
    t.equal(await keptCount(), 50, 'and every row is the element it was')

    // A keyboard user on the queued build's link when it changes stays on it.
    await page.focus(`tr[data-build="${queued.id}"] td.submitted a`)
    t.equal((await slipway.app.inject({ method: 'POST', url: `/v1/builds/${queued.id}/cancel`, headers: asWriter })).statusCode, 202)
    await page.locator(`tr[data-build="${queued.id}"] [data-status="canceled"]`).waitFor()
    t.equal(answers.at(-1), 200, 'the changed page came whole')
    t.notOk(await kept(queued.id), 'the canceled build has a new row')
    t.equal(await keptCount(), 49, 'the other 49 are untouched')
    t.equal(await page.evaluate('document.activeElement.closest("tr")?.dataset.build'), queued.id, 'the focus is still on its row')
    t.equal(await page.evaluate('document.activeElement.closest("td")?.className'), 'submitted', 'on the same link')
    await screenshot('builds-list-03-canceled')
  })

  t.test("a running build's steps change every half second: each refresh is a 304 of no bytes, and its duration ticks", async (t) => {
    // Started as a worker starts a build, its job held back (delayed) so that the reconciler, which
    // ends a running build without a job, and the worker, which would run it, both leave it be.
    const connection = new Redis(slipway.config.redisUrl)
    const queue = new Queue(BUILD_QUEUE, { connection, prefix: slipway.config.prefix })
    t.teardown(async () => {
      await queue.close()
      await connection.quit()
    })
    const running = record(minutesAgo(2), bulkToken)
    await storage.builds.create(running)
    await queue.add('build', { buildId: running.id }, { jobId: running.id, delay: 600_000 })
    const startedAt = minutesAgo(1).toISOString()
    const ranOn = { worker: 'host:1', engine: { id: 'E1', name: 'engine-1' } }
    if (!(await storage.builds.transition(running.id, { from: ['queued'], to: 'running', attempt: 0, set: { startedAt, attempts: 1, ranOn, phases: [], steps: [] } }))) throw new Error('the build did not start')
    const progress = attemptRecord(storage.builds, running.id, 1, (line) => line)
    const phase: Phase = { name: 'build', status: 'running', startedAt, finishedAt: null, durationMs: null }
    const step = (n: number, status: Step['status']): Step => ({ stage: null, instruction: `RUN make part-${n}`, status, cached: false, startedAt, durationMs: status === 'running' ? null : 100 * n, line: n })
    const steps = (n: number) => [...Array.from({ length: n }, (_, i) => step(i + 1, 'succeeded')), step(n + 1, 'running')]

    const answers: Promise<{ status: number, bytes: number }>[] = []
    page.on('response', (response) => {
      const url = new URL(response.url())
      if (url.pathname !== '/v1/builds' || url.searchParams.has('cursor')) return
      answers.push(response.status() === 200 ? response.body().then((body) => ({ status: 200, bytes: body.byteLength })) : Promise.resolve({ status: response.status(), bytes: 0 }))
    })
    await visit('#/builds')
    const duration = page.locator(`tr[data-build="${running.id}"] td.duration`)
    await duration.locator('[data-running-since]').waitFor()
    const firstDuration = await duration.innerText()
    const started = Date.now()
    for (let n = 1; Date.now() - started < 10_000; n++) {
      if (!(await progress.update({ phases: [phase], steps: steps(n) }))) throw new Error('no progress written')
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    const seen = await Promise.all(answers)
    t.comment(`the list's answers over 10 s of steps: ${seen.map(({ status, bytes }) => `${status} (${bytes} bytes)`).join(', ')}`)
    t.equal(seen[0]?.status, 200, 'the first answer is the page')
    t.ok(seen.length >= 4, `and the page refreshed every 3 s (${seen.length} answers)`)
    t.same(seen.slice(1).map(({ status }) => status), seen.slice(1).map(() => 304), 'every refresh after it is a 304: the steps are not on the list')
    t.equal(seen.slice(1).reduce((sum, { bytes }) => sum + bytes, 0), 0, 'of no bytes')
    t.not(await duration.innerText(), firstDuration, `its duration ticks between answers all the same (${firstDuration} → ${await duration.innerText()})`)
    await screenshot('builds-list-07-running')

    const finishedAt = new Date().toISOString()
    if (!(await progress.end('succeeded', { finishedAt, durationMs: 75_000, phases: [{ ...phase, status: 'succeeded', finishedAt, durationMs: 75_000 }], steps: steps(0).map((s) => ({ ...s, status: 'succeeded' })) }))) throw new Error('the build did not end')
    await queue.remove(running.id)
    await page.locator(`tr[data-build="${running.id}"] [data-status="succeeded"]`).waitFor()
    t.equal(await duration.innerText(), '1 min 15 s', 'its end comes with the next refresh, and its duration as recorded')
    t.equal((await Promise.all(answers)).at(-1)?.status, 200, 'in a 200')
  })

  t.test("the build page's header says what the build is and what started it", async (t) => {
    await visit(`#/builds/${retried.id}`)
    await page.locator('#started-by').waitFor()
    t.equal(await text('#started-by'), `retry of ${failed.id} by token ci-main`)
    t.equal(await page.locator('#started-by a').getAttribute('href'), `#/builds/${failed.id}`)
    await screenshot('builds-list-04-build-retry')

    await visit(`#/builds/${uploaded.id}`)
    await page.locator('#upload-source').waitFor()
    t.equal(await text('#upload-source'), `upload ${source.sha256.slice(0, 12)} (${formatBytes(source.sizeBytes)})`, 'an upload: its digest and size')
    t.equal(await page.locator('#build-details dt:text-is("Ref")').count(), 0, 'no ref, so no "default branch"')
    t.equal(await text('#started-by'), 'token ci-main')
    await screenshot('builds-list-05-build-upload')

    await visit(`#/builds/${pullRequest.id}`)
    await page.locator('#started-by').waitFor()
    t.equal(await text('#started-by'), 'pull request #7 feature/login → main from a fork by bob (trigger rule prs)')
    await screenshot('builds-list-06-build-pull-request')
  })
}
