import t from 'tap'
import { ulid } from 'ulid'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import type { BuildRecord, Step } from '../../src/domain/schemas/build.js'
import { chromiumMissing, CHROMIUM, openPortal } from '../helpers/browser.js'
import { defaultRequest } from '../helpers/fixtures.js'

// What the portal offers a token, by what the token may do (GET /v1/tokens/self): whose token is
// signed in, New build, Retry and Cancel only for one with builds:write, Cancel after a question,
// and who canceled a build. And two things that could never work: Retry of an uploaded folder's
// build, and a bar for a step that never ran. The builds are stored as the worker leaves them.

if (chromiumMissing) {
  t.plan(0, `the portal's browser tests need ${CHROMIUM} (Debian's chromium package; scripts/setup.sh installs it)`)
} else {
  const { slipway, storage, page, screenshot, visit } = await openPortal(t, 'ci-read')
  const writer = (await slipway.app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'ci-main', scopes: ['builds:read', 'builds:write'] } })).json<{ token: string }>().token
  const signInWith = (token: string) => page.evaluate(`sessionStorage.setItem('slipway.token', ${JSON.stringify(token)})`)
  const text = (selector: string) => page.locator(selector).first().innerText()
  const READ_ONLY = 'This token (ci-read) may read builds, not start or cancel them'

  const at = (seconds: number) => new Date(Date.now() - 60_000 + seconds * 1000).toISOString()
  const ended = (record: BuildRecord, status: BuildRecord['status']): BuildRecord => ({ ...record, status, startedAt: at(0), finishedAt: at(20), durationMs: 20_000 })
  const repoRequest = defaultRequest('https://git.example.com/acme/app.git', 'registry.example.com/acme/app')

  const ran = (instruction: string, line: number, from: number, ms: number, status: Step['status'] = 'succeeded'): Step =>
    ({ stage: 'stage-0', instruction, status, cached: false, startedAt: at(from), durationMs: ms, line })
  // As BuildKit reports steps it never started, and the worker ends them (workers/build-progress.ts).
  const neverRan = (instruction: string, line: number): Step => ({ stage: 'stage-0', instruction, status: 'interrupted', cached: false, startedAt: null, durationMs: null, line })
  const failed: BuildRecord = {
    ...ended(newBuildRecord(ulid(), repoRequest, new Date()), 'failed'),
    phases: [
      { name: 'clone', status: 'succeeded', startedAt: at(0), finishedAt: at(2), durationMs: 2000 },
      { name: 'context', status: 'succeeded', startedAt: at(2), finishedAt: at(3), durationMs: 1000 },
      { name: 'build', status: 'failed', startedAt: at(3), finishedAt: at(20), durationMs: 17_000 }
    ],
    steps: [
      ran('FROM busybox', 1, 3, 500),
      ran('RUN echo preparing', 2, 4, 3000),
      { ...ran('RUN exit 3', 3, 7, 2000, 'failed'), exitCode: 3 },
      neverRan('RUN echo never', 4),
      neverRan('COPY . /app', 5)
    ],
    error: { code: 'BUILD_STEP_FAILED', message: 'The step RUN exit 3 failed with exit code 3.', phase: 'build', step: '[3/5] RUN exit 3', exitCode: 3 }
  }
  const upload: BuildRecord = {
    ...ended(newBuildRecord(ulid(), { ...repoRequest, repo: null, source: { type: 'upload', sizeBytes: 4321, sha256: 'cd'.repeat(32) } }, new Date()), 'succeeded'),
    commit: null
  }
  const succeeded = ended(newBuildRecord(ulid(), repoRequest, new Date()), 'succeeded')
  // Queued with no job: nothing takes it before the test cancels it (the reconciler waits 30 s).
  const queued = newBuildRecord(ulid(), repoRequest, new Date())
  for (const record of [failed, upload, succeeded, queued]) await storage.builds.create(record)

  t.test('a read-only token: the header names it; New build, Retry and Cancel are disabled, saying why', async (t) => {
    await visit('#/builds')
    await page.locator('#session-name').waitFor()
    t.equal(await text('#session-name'), 'ci-read', 'whose token is signed in')
    t.equal(await text('#session-scopes'), '(builds:read)', 'and what it may do')
    t.ok(await page.locator('#new-build').isDisabled(), 'New build is disabled')
    t.equal(await page.locator('#new-build').getAttribute('title'), READ_ONLY, 'its reason on hover')
    t.equal(await text('#new-build-why'), `${READ_ONLY}.`, 'and beside it')
    t.equal(await page.locator('[data-nav=submit]').getAttribute('aria-disabled'), 'true', "the header's New build too")
    t.equal(await page.locator('[data-nav=submit]').getAttribute('href'), null, 'leading nowhere')
    await screenshot('tokens-01-read-only-builds')

    await visit(`#/builds/${succeeded.id}`)
    await page.locator('#retry').waitFor()
    t.ok(await page.locator('#retry').isDisabled(), 'Retry is disabled')
    t.equal(await page.locator('#retry').getAttribute('title'), READ_ONLY)
    t.equal(await text('#retry-why'), `${READ_ONLY}.`)

    await visit(`#/builds/${queued.id}`)
    await page.locator('#cancel').waitFor()
    t.ok(await page.locator('#cancel').isDisabled(), 'Cancel is disabled')
    t.equal(await page.locator('#cancel').getAttribute('title'), READ_ONLY)
    t.equal(await text('#cancel-why'), `${READ_ONLY}.`)
    await screenshot('tokens-02-read-only-cancel')

    await visit('#/submit')
    await page.locator('#submit-not-allowed').waitFor()
    t.match(await text('#submit-not-allowed'), READ_ONLY, 'the form, reached by its address, says it will be refused')
  })

  t.test('a read-write token: Cancel asks first; then the build says who canceled it and when', async (t) => {
    await signInWith(writer)
    await visit(`#/builds/${queued.id}`)
    await page.locator('#session-name', { hasText: 'ci-main' }).waitFor()
    t.equal(await text('#session-scopes'), '(builds:read, builds:write)')
    t.equal(await page.locator('[data-nav=submit]').getAttribute('href'), '#/submit', 'New build is offered')
    t.ok(await page.locator('#cancel').isEnabled(), 'Cancel is offered')

    await page.click('#cancel')
    await page.locator('#cancel-confirm').waitFor()
    t.match(await text('#cancel-confirm'), /Cancel this build\?/)
    t.equal(await page.evaluate('document.activeElement.id'), 'confirm-cancel', 'the question has the focus')
    await page.keyboard.press('Escape')
    t.equal(await page.locator('#cancel-confirm').count(), 0, 'Escape closes it, canceling nothing')
    t.equal(await page.evaluate('document.activeElement.id'), 'cancel', 'and gives the focus back')
    t.equal((await storage.builds.get(queued.id))?.status, 'queued')

    await page.keyboard.press('Enter')
    await page.locator('#cancel-confirm').waitFor()
    await screenshot('tokens-03-cancel-confirm')
    await page.keyboard.press('Enter')
    await page.locator('#build-status [data-status="canceled"]').waitFor({ timeout: 15_000 })
    await page.locator('#canceled-by').waitFor()
    t.match(await text('#canceled-by'), /^This build was canceled by token ci-main at \d{1,2}:\d{2}( [AP]M)?\.$/, 'who canceled it, and when')
    t.notMatch(await text('#build-error'), /\/v1\//, 'in words, not the API route')
    t.equal(await page.locator('#cancel').count(), 0, 'and it is no longer offered')
    t.equal(await text('#action-result'), '', "nor is 'Cancel requested' left beside its outcome")
    await screenshot('tokens-04-canceled-by')
  })

  t.test("an uploaded folder's build offers no retry, and says why", async (t) => {
    await visit(`#/builds/${upload.id}`)
    await page.locator('#retry-unavailable').waitFor()
    t.equal(await page.locator('#retry').count(), 0, 'no Retry')
    t.equal(await text('#retry-unavailable'), 'No retry: an uploaded folder is not kept after its build; run slipway submit --dir again.')
    await visit(`#/builds/${succeeded.id}`)
    await page.locator('#retry').waitFor()
    t.ok(await page.locator('#retry').isEnabled(), "a repository's build may be retried")
    await screenshot('tokens-05-upload-no-retry')
  })

  t.test("a failed build's steps that never ran are 'not run', with no bar", async (t) => {
    await visit(`#/builds/${failed.id}`)
    await page.locator('.timeline tr.step').nth(4).waitFor()
    const notRun = page.locator('.timeline tr.step-not-run')
    t.equal(await notRun.count(), 2, 'the two steps after the failing one')
    for (const row of await notRun.all()) {
      t.equal((await row.locator('td').nth(1).innerText()).trim(), 'not run')
      t.equal(await row.locator('svg').count(), 0, 'no bar')
    }
    t.match(await page.locator('.timeline tr.step-not-run td .not-run').first().getAttribute('title'), /an earlier step failed/)
    t.equal(await page.locator('.timeline tr.step-failed svg rect').count(), 1, 'the failing step keeps its bar')
    t.equal(await page.locator('.timeline tr.step-interrupted').count(), 0, 'nothing is drawn as interrupted')
    await screenshot('tokens-06-not-run-steps')
  })
}
