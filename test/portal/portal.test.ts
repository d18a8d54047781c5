import { randomBytes } from 'node:crypto'
import os from 'node:os'
import { Redis } from 'ioredis'
import t from 'tap'
import { retentionPolicy } from '../../src/domain/retention.js'
import { createRetentionSweeper } from '../../src/services/retention-sweeper.js'
import { createStorage } from '../../src/storage/storage.js'
import { chromiumMissing, CHROMIUM, openBrowser, SCREENSHOT_DIR } from '../helpers/browser.js'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// The portal as a new user meets it: a real Chromium on a real Slipway (API, worker, Redis,
// Docker, a registry) with real git repositories, and nothing but a token. Screenshots of each
// page go to test/portal/screenshots/.

const BUILD_ID = /#\/builds\/(\w{26})$/
// In every RUN that must really run: Docker's layer cache would otherwise replay an earlier run's.
const RUN_ID = randomBytes(6).toString('hex')

if (chromiumMissing) {
  t.plan(0, `the portal's browser tests need ${CHROMIUM} (Debian's chromium package; scripts/setup.sh installs it)`)
} else {
  const slipway = await startSlipway(t)
  const url = await slipway.listen()
  const registry = await startRegistry(t)
  const makeToken = async (scopes: string[]) =>
    (await slipway.app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: `portal-${scopes.join('-')}`, scopes } })).json<{ token: string }>().token
  const token = await makeToken(['builds:read', 'builds:write'])
  const { page, screenshot } = await openBrowser(t)
  const text = (selector: string) => page.locator(selector).first().innerText()
  /** Waits until the build page shows `status`, then returns the build (its image is removed afterwards). */
  const waitForStatus = async (status: string, timeout = 120_000) => {
    try {
      await page.locator(`#build-status [data-status="${status}"]`).waitFor({ timeout })
    } catch (error) {
      await screenshot(`failed-waiting-for-${status}`)
      throw error
    }
    return slipway.wait(BUILD_ID.exec(page.url())![1]!)
  }
  /** Opens a page of the portal afresh, as typing its address would (a hash change alone keeps the old form). */
  const visit = async (hash: string) => {
    await page.goto('about:blank')
    await page.goto(`${url}/portal/${hash}`)
  }
  const openMoreOptions = () => page.evaluate("document.querySelector('details.more').open = true")

  t.test("a new user signs in once per tab; a wrong token is refused with the API's reason", async (t) => {
    const response = await page.goto(`${url}/portal`)
    t.equal(new URL(page.url()).pathname, '/portal/', '/portal leads to the portal')
    t.match(response?.headers()['content-security-policy'], /default-src 'none'; script-src 'self'/, 'a strict Content-Security-Policy')
    await page.fill('#token', 'slw_not-a-real-token')
    await page.click('button[type=submit]')
    await page.locator('#sign-in-status .error-code').waitFor()
    t.equal(await text('#sign-in-status .error-code'), 'UNAUTHENTICATED')
    t.match(await text('#sign-in-status'), /not known/)

    await page.fill('#token', token)
    await page.click('button[type=submit]')
    await page.locator('h1', { hasText: 'Builds' }).waitFor()
    t.match(await text('#builds .empty'), /No builds yet/, 'an empty installation says what to do')
    await screenshot('01-builds-empty')

    await page.reload()
    await page.locator('h1', { hasText: 'Builds' }).waitFor()
    t.pass('a reload keeps the session')
    const stored = await page.evaluate('({ session: Object.keys(sessionStorage), local: localStorage.length, cookies: document.cookie })')
    t.same(stored, { session: ['slipway.token'], local: 0, cookies: '' }, 'only the token is kept, and only for this tab')
  })

  t.test("the form shows the API's validation errors next to their fields", async (t) => {
    await visit('#/submit')
    await page.fill('#field-repo', 'https://github.com/acme/app.git')
    await page.fill('#field-tags', 'v1, not a tag!')
    await page.click('#submit-form button[type=submit]')
    await page.locator('#error-tags span').waitFor()
    t.match(await text('#error-tags'), /tags\[1\]: must match pattern/)
    t.equal(await text('#submit-result .error-code'), 'VALIDATION_FAILED')
    t.equal(await page.locator('#error-repo span').count(), 0, 'a field the API accepted shows nothing')
    await screenshot('02-submit-validation')

    await page.fill('#field-tags', '')
    await page.fill('#field-repo', 'not a repository')
    await page.click('#submit-form button[type=submit]')
    await page.locator('#error-repo span').waitFor()
    t.match(await text('#error-repo'), /^REPO_URL_INVALID: /, 'a refusal about one field, without details, lands on it too')

    await page.fill('#field-repo', 'https://github.com/acme/app.git')
    await openMoreOptions()
    await page.fill('#field-timeoutSeconds', '999999999')
    await page.click('details.more summary')
    await page.click('#submit-form button[type=submit]')
    await page.locator('#error-timeoutSeconds span').waitFor()
    t.not(await page.locator('details.more').getAttribute('open'), null, 'a problem under More options opens it')
  })

  t.test('a build submitted through the form: its log arrives live, it succeeds, its layers and size chart show', async (t) => {
    const repo = await createRepo(t, {
      Dockerfile: `FROM busybox\nRUN echo first-${RUN_ID} && sleep 4 && echo second-${RUN_ID}\nRUN head -c 300000 /dev/urandom > /blob\n`
    })
    await visit('#/submit')
    await page.fill('#field-repo', repo.url)
    await page.fill('#field-image', `${registry.host}/portal/app`)
    await openMoreOptions()
    await page.fill('#field-maxImageBytes', '50')
    await page.click('#submit-form button[type=submit]')
    await page.waitForURL(BUILD_ID)

    // The lines the step prints, not the step's own header (which names them too).
    const printed = (word: string) => page.locator('#log .line', { hasText: new RegExp(`^(#\\d+ )?${word}-${RUN_ID}$`) })
    await printed('first').waitFor({ timeout: 60_000 })
    t.equal(await page.locator('#build-status [data-status]').getAttribute('data-status'), 'running', 'the log arrives while the build runs')
    t.equal(await printed('second').count(), 0, 'before the build has printed the rest')
    await screenshot('03-build-running')

    const build = await waitForStatus('succeeded')
    // Only the rows in sight are elements: the log's search counts every line.
    await page.fill('#log-search', `second-${RUN_ID}`)
    await page.locator('#log-search-count', { hasText: /^1 of \d+ lines$/ }).waitFor()
    const found = []
    for (let n = Number(/of (\d+)/.exec(await text('#log-search-count'))![1]); n > 0; n--) {
      found.push(await text('#log .current-match .line'))
      await page.click('#log-search-next')
    }
    t.equal(found.filter((line) => new RegExp(`^(#\\d+ )?second-${RUN_ID}$`).test(line)).length, 1, 'the rest of the log follows, once')
    t.match(await text('#log-state'), /complete/)
    t.ok((await page.locator('.layers-chart rect.bar').count()) >= 2, 'the layers chart has bars')
    t.ok(await page.locator('.layers-chart .label', { hasText: 'head -c 300000' }).count(), 'named by their instructions')
    t.ok(await page.locator('.timeline tr.step').count(), 'the steps are on the timeline')
    t.match(await text('#image'), build.image!.digest!, 'the pushed digest is shown')
    const ranOn = build.ranOn!
    t.equal(await text('#build-details dt:text-is("Ran on") + dd'), `${ranOn.engine!.name} (worker ${ranOn.worker})`, 'where it ran: the engine, and the worker')
    t.equal(await page.locator('#build-details dt:text-is("Ran on") + dd span').getAttribute('title'), `Docker Engine ${ranOn.engine!.id}`, "the engine's id on hover")
    await screenshot('04-build-succeeded')

    await page.click('text=Repository sizes')
    await page.locator('.size-chart').waitFor()
    t.equal(await page.locator('.size-chart circle.point').count(), 1, 'one point per succeeded build')
    t.equal(await page.locator('.size-chart .budget').count(), 1, 'and a line at its size budget')
    t.match(await page.locator('.size-chart .budget text').textContent(), /budget 50 MB/)
    await screenshot('05-repository-sizes')
  })

  t.test('a failing build: the list shows it live, its page highlights the failing step, retry builds it again', async (t) => {
    const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo preparing\nRUN echo about to fail && exit 3\nRUN echo never-reached\n' })
    await visit('#/builds')
    await page.locator('#builds table').waitFor()
    const { id } = await slipway.submit({ repo: repo.url })
    await page.locator(`tr[data-build="${id}"] [data-status="failed"]`).waitFor({ timeout: 120_000 })
    t.pass('the new build appears and ends failed without a reload')
    const ranOn = (await slipway.wait(id)).ranOn!
    await page.locator(`tr[data-build="${id}"] a[title$=", ran on ${ranOn.engine!.name}"]`).waitFor()
    t.pass('its status says on hover which engine it ran on')

    await page.selectOption('#filter-status', 'succeeded')
    await page.locator('#builds tbody tr').first().waitFor()
    t.equal(await page.locator(`tr[data-build="${id}"]`).count(), 0, 'the status filter hides it')
    await page.selectOption('#filter-status', 'failed')
    await page.locator(`tr[data-build="${id}"]`).waitFor()
    t.equal(await page.locator('#builds tbody tr').count(), 1, 'and shows only the failed')

    await page.click(`tr[data-build="${id}"] a >> nth=0`)
    await page.locator('#build-error').waitFor()
    t.equal(await text('#build-error .error-code'), 'BUILD_STEP_FAILED')
    await page.locator('#log .failing').first().waitFor()
    const failing = await page.locator('#log .failing').allInnerTexts()
    t.ok(failing.some((line) => line.includes('about to fail')), 'the failing step is highlighted in the log')
    t.notOk(failing.some((line) => line.includes('preparing')), 'and only it')
    t.ok(await page.locator('.timeline tr.step-failed').count(), 'and on the timeline')
    const unreached = page.locator('.timeline tr.step', { hasText: 'never-reached' })
    t.equal(await unreached.locator('td').nth(1).innerText(), 'not run', 'the step after it never ran, and says so')
    t.equal(await unreached.locator('svg').count(), 0, 'with no bar')
    await screenshot('06-build-failed')
    await slipway.wait(id)

    await page.click('#retry')
    await page.waitForURL((next) => BUILD_ID.test(next.hash) && !next.hash.endsWith(id))
    await waitForStatus('failed')
    t.pass('retry opens the new build, which fails the same way')

    const classic = await slipway.build({ repo: repo.url, builder: 'classic' })
    await visit(`#/builds/${classic.id}`)
    await page.locator('#log .failing').first().waitFor()
    const classicFailing = await page.locator('#log .failing .line').allInnerTexts()
    t.match(classicFailing[0], /^Step \d+\/\d+ : RUN echo about to fail/, "the classic builder's failing step, from its header")
    t.ok(classicFailing.some((line) => line.includes('about to fail')) && !classicFailing.some((line) => line.includes('preparing')), 'to its end')
  })

  t.test('cancel stops a running build', async (t) => {
    const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo sleeping-${RUN_ID} && sleep 60\n` })
    const { id } = await slipway.submit({ repo: repo.url })
    await visit(`#/builds/${id}`)
    await page.locator('#log .line', { hasText: new RegExp(`^(#\\d+ )?sleeping-${RUN_ID}$`) }).waitFor({ timeout: 60_000 })
    await page.click('#cancel')
    await page.locator('#cancel-confirm').waitFor()
    t.equal(await page.locator('#build-status [data-status="running"]').count(), 1, 'Cancel asks first, and the build runs on meanwhile')
    await page.click('#confirm-cancel')
    await waitForStatus('canceled', 30_000)
    t.equal(await text('#build-error .error-code'), 'CANCELED')
    await page.locator('#canceled-by').waitFor()
    t.match(await text('#canceled-by'), /^This build was canceled by token portal-builds:read-builds:write at \d{1,2}:\d{2}/, 'who canceled it and when, not the API route')
    t.equal(await page.locator('#cancel').count(), 0, 'an ended build offers retry, not cancel')
    await screenshot('07-build-canceled')
  })

  t.test('a long log: every line is in the page, its step folded, found by search', async (t) => {
    const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${RUN_ID} && seq 1 7000\n` })
    const build = await slipway.build({ repo: repo.url, builder: 'classic' })
    t.equal(build.status, 'succeeded')
    await visit(`#/builds/${build.id}`)
    await page.locator('#log-state', { hasText: 'complete' }).waitFor()
    t.match(await text('#log-state'), /^complete, [\d,]+ lines$/)
    t.equal(await page.locator('#log .line', { hasText: /^7000$/ }).count(), 0, "a succeeded build's steps are folded")
    await page.fill('#log-search', '7000')
    await page.locator('#log-search-count', { hasText: '1 of 2 lines' }).waitFor()
    await page.keyboard.press('Enter')
    t.equal(await text('#log .current-match .line'), '7000', 'the last line the step printed, after its header')
  })

  t.test('the repository page compares variants', async (t) => {
    const repo = await createRepo(t, {
      Dockerfile: `FROM busybox\nRUN head -c 200000 /dev/urandom > /big-${RUN_ID}\n`,
      'Dockerfile.small': 'FROM busybox\nRUN echo small > /small\n'
    })
    const build = await slipway.build({ repo: repo.url, variants: [{ name: 'big', dockerfile: 'Dockerfile' }, { name: 'small', dockerfile: 'Dockerfile.small' }] })
    t.equal(build.status, 'succeeded')
    await visit(`#/repos/${encodeURIComponent(repo.url)}`)
    await page.locator('#variants table.variants').waitFor()
    t.same(await page.locator('#variants tbody th').allInnerTexts(), ['big', 'small'])
    await screenshot('08-repository-variants')
  })

  t.test('a token without the scope is told which one it lacks', async (t) => {
    const readOnly = await makeToken(['builds:read'])
    await page.evaluate(`sessionStorage.setItem('slipway.token', ${JSON.stringify(readOnly)})`)
    await visit('#/submit')
    await page.fill('#field-repo', 'https://github.com/acme/app.git')
    await page.click('#submit-form button[type=submit]')
    await page.locator('#submit-result .error-code').waitFor()
    t.equal(await text('#submit-result .error-code'), 'FORBIDDEN')
    t.match(await text('#submit-result'), /builds:write/)
    t.ok(await page.locator('#submit-result button', { hasText: 'another token' }).count(), 'and offered to use another')
  })

  t.test('an admin sees what is kept: history by age, Redis, the build host, the last sweep', async (t) => {
    // Still signed in with the builds:read token of the test before.
    await visit('#/storage')
    await page.locator('main .error-code').waitFor()
    t.equal(await text('main .error-code'), 'FORBIDDEN', 'a token without the admin scope is told so')
    t.match(await text('main .error-box'), /admin/)

    const redis = new Redis(slipway.config.redisUrl)
    t.teardown(() => redis.quit())
    const sweep = await createRetentionSweeper({ storage: createStorage(redis, slipway.config), policy: retentionPolicy(slipway.config), logger: { info: () => {}, warn: () => {} } }).sweepOnce()
    t.ok(sweep, 'a sweep ran')
    await page.evaluate(`sessionStorage.setItem('slipway.token', ${JSON.stringify(slipway.config.adminToken)})`)
    await visit('#/storage')
    await page.locator('#hosts table').waitFor()
    t.equal(await page.locator('[data-nav=storage][aria-current=page]').count(), 1, 'the Storage link is marked')
    t.match(await text('#history'), /[1-9]\d* build records? kept/, 'the builds of the tests before')
    t.equal(await page.locator('#history tbody tr').count(), 6, 'by age, in six bands')
    t.match(await text('#redis-memory'), /used.*policy/)
    t.match(await text('#hosts tbody'), new RegExp(`${os.hostname()}:${process.pid}[\\s\\S]*Taking builds`), "this test's worker and its engine")
    t.match(await text('#last-sweep'), /Last sweep .*removed \d+ builds?/)
    await screenshot('09-storage')
  })

  t.comment(`screenshots: ${SCREENSHOT_DIR}`)
}
