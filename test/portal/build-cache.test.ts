import t from 'tap'
import { ulid } from 'ulid'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import type { BuildCache, BuildRecord, Step } from '../../src/domain/schemas/build.js'
import { chromiumMissing, CHROMIUM, openPortal } from '../helpers/browser.js'
import { defaultRequest } from '../helpers/fixtures.js'

// What the portal shows of the layer cache: each rebuilt step's reason as a badge, the first miss
// highlighted, and each build's hit rate in the lists. The worker's side (filling `cacheMiss` and
// `cache` from real builds) is tested with the worker; here the records are made by hand, stored
// as the worker would leave them, and read through the API like any other.

const REPO = 'https://git.example.com/acme/cache-app.git'
const STARTED = new Date(Date.now() - 60_000)

/** A Dockerfile step as the worker records it; `cacheMiss` only for one that ran. */
function step (line: number, instruction: string, cacheMiss?: Step['cacheMiss']): Step {
  return { stage: null, instruction, status: 'succeeded', cached: !cacheMiss, startedAt: STARTED.toISOString(), durationMs: cacheMiss ? 2000 : 0, line, ...(cacheMiss ? { cacheMiss } : {}) }
}

/** A succeeded build of REPO with these steps and this cache summary. */
function succeededBuild (steps: Step[], cache: BuildCache | null, created: Date): BuildRecord {
  const finished = new Date(STARTED.getTime() + 9000).toISOString()
  return {
    ...newBuildRecord(ulid(created.getTime()), defaultRequest(REPO), created),
    status: 'succeeded',
    commit: 'c0ffee'.padEnd(40, '0'),
    startedAt: STARTED.toISOString(),
    finishedAt: finished,
    durationMs: 9000,
    attempts: 1,
    builder: 'buildkit',
    phases: [{ name: 'build', status: 'succeeded', startedAt: STARTED.toISOString(), finishedAt: finished, durationMs: 9000 }],
    steps,
    cache
  }
}

if (chromiumMissing) {
  t.plan(0, `the portal's browser tests need ${CHROMIUM} (Debian's chromium package; scripts/setup.sh installs it)`)
} else {
  const { storage, page, screenshot, visit } = await openPortal(t, 'portal-cache')

  const earlier = succeededBuild([step(2, 'RUN apk add python3', { reason: 'first-build', detail: { summary: 'no earlier build of this branch' } })], {
    comparedWith: null,
    steps: 1,
    cached: 0,
    hitRate: 0,
    firstMiss: { step: 0, instruction: 'RUN apk add python3', line: 2, reason: 'first-build', summary: 'no earlier build of this branch', followers: 0 }
  }, new Date(Date.now() - 120_000))
  const build = succeededBuild(
    [
      { stage: null, instruction: '[internal] load build definition from Dockerfile', status: 'succeeded', cached: false, startedAt: STARTED.toISOString(), durationMs: 40 },
      step(2, 'RUN apk add python3'),
      step(3, 'WORKDIR /app'),
      step(4, 'COPY . /app', { reason: 'files-changed', detail: { summary: 'src/app.py changed', files: ['src/app.py'], fileCount: 1 } }),
      step(5, 'RUN python3 -m compileall /app', { reason: 'earlier-step-rebuilt', detail: { summary: 'line 4 rebuilt', step: 3 } })
    ],
    {
      comparedWith: earlier.id,
      steps: 4,
      cached: 2,
      hitRate: 0.5,
      firstMiss: { step: 3, instruction: 'COPY . /app', line: 4, reason: 'files-changed', summary: 'src/app.py changed', followers: 1 }
    },
    new Date(Date.now() - 60_000)
  )
  const before = succeededBuild([step(2, 'RUN apk add python3')], null, new Date(Date.now() - 180_000))
  for (const record of [before, earlier, build]) await storage.builds.create(record)

  t.test('the build page: each rebuilt step with its reason as a badge, the first miss highlighted, cached steps marked', async (t) => {
    await visit(`#/builds/${build.id}`)
    await page.locator('#cache-summary').waitFor()
    t.equal(
      await page.locator('#cache-summary').innerText(),
      `Layer cache: 2 of 4 steps (50%); line 4 COPY . /app rebuilt: src/app.py changed; 1 step after it followed (compared with build ${earlier.id})`,
      'the summary, worded as the CLI, the log and chat messages word it'
    )
    t.equal(await page.locator(`#cache-summary a[href="#/builds/${earlier.id}"]`).count(), 1, 'the build it was compared with is a link')

    const first = page.locator('.timeline tr.step.first-miss')
    t.equal(await first.count(), 1, 'one first miss')
    t.match(await first.locator('.instruction').innerText(), /^line 4 COPY \. \/app\s+src\/app\.py changed$/, 'its line, its instruction and its reason')
    t.equal(await first.locator('.tag.miss').innerText(), 'files changed', 'the reason as a badge')
    t.equal(await first.locator('.tag.miss').getAttribute('title'), 'src/app.py changed', 'with the summary as its tooltip')
    t.equal(await first.locator('.tag.first-miss-tag').innerText(), 'first miss')

    const follower = page.locator('.timeline tr.step[data-step="4"]')
    t.equal(await follower.locator('.tag.miss').innerText(), 'earlier step rebuilt')
    t.equal(await follower.locator('.tag.first-miss-tag').count(), 0, 'a follower is not the first miss')

    t.same(await page.locator('.timeline tr.step.cached .tag').allInnerTexts(), ['cached', 'cached'], 'cached steps keep their mark')
    t.equal(await page.locator('.timeline tr.step.cached .tag.miss').count(), 0, 'and have no reason')
    t.equal(await page.locator('.timeline tr.step[data-step="0"] .tag').count(), 0, 'a builder-internal step has neither')
    await screenshot('cache-01-build')
  })

  t.test('a build without a cache summary shows none', async (t) => {
    await visit(`#/builds/${before.id}`)
    await page.locator('.timeline tr.step').first().waitFor()
    t.equal(await page.locator('#cache-summary').count(), 0)
    t.equal(await page.locator('.timeline .tag.miss').count(), 0)
  })

  t.test("the builds list and the repository's recent builds show each build's hit rate", async (t) => {
    await visit('#/builds')
    await page.locator(`tr[data-build="${build.id}"]`).waitFor()
    const rate = (id: string) => page.locator(`tr[data-build="${id}"] .cache-rate`).innerText()
    t.equal(await rate(build.id), '50% cached')
    t.equal(await rate(earlier.id), '0% cached')
    t.equal(await rate(before.id), '–', 'a build without a cache summary: a dash')
    t.match(await page.locator(`tr[data-build="${build.id}"] .cache-rate span`).getAttribute('title'), 'line 4 COPY . /app rebuilt: src/app.py changed', 'the first miss as its tooltip')

    await visit(`#/repos/${encodeURIComponent(REPO)}`)
    await page.locator(`tr[data-build="${build.id}"]`).waitFor()
    t.equal(await rate(build.id), '50% cached', 'the repository page too')
    await screenshot('cache-02-repository')
  })
}
