import t from 'tap'
import { ulid } from 'ulid'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import type { BuildRecord, Image, NormalizedRequest } from '../../src/domain/schemas/build.js'
import { chromiumMissing, CHROMIUM, openPortal } from '../helpers/browser.js'
import { defaultRequest } from '../helpers/fixtures.js'

// The portal's charts as a person reads them: the size chart of a repository whose images are
// 700 kB and 800 MB, each visible, on round ticks, with its budgets labelled; and a running
// build's timeline, on a time axis, whose running step's timer moves on by itself, and stops
// when the page is left or the build ends. The records are made by hand and stored as the worker
// leaves them; the pure scales are tested in scales.test.ts.

const REPO = 'https://git.example.com/acme/charts-app.git'
const MB = 1_000_000
// A round size label, as formatBytes writes one: 1, 2 or 5 times a power of ten, or 0.
const ROUND_SIZE = /^(0|[125]0{0,2}) [kMGT]?B$/

/** The image of a succeeded build, `sizeBytes` big, made of a base and one layer. */
function image (sizeBytes: number, budget: number | null): Image {
  const baseBytes = Math.round(sizeBytes * 0.8)
  return {
    id: 'sha256:1',
    repository: 'slipway.local/app',
    tags: ['slipway.local/app:latest'],
    pushed: false,
    digest: null,
    sizeBytes,
    layers: [
      { instruction: 'Imported from -', sizeBytes: baseBytes, createdAt: null, line: null, stage: null, fromBase: true },
      { instruction: 'COPY app /app', sizeBytes: sizeBytes - baseBytes, createdAt: null, line: 2, stage: null, fromBase: false }
    ],
    baseBytes,
    addedBytes: sizeBytes - baseBytes,
    sizeDelta: null,
    findings: [],
    budget: budget === null ? null : { maxBytes: budget, mode: 'fail', exceeded: sizeBytes > budget }
  }
}

/** A succeeded build of REPO, finished `hoursAgo`, of this request, its image `sizeBytes` big. */
function succeeded (request: Partial<NormalizedRequest>, sizeBytes: number, hoursAgo: number): BuildRecord {
  const finished = new Date(Date.now() - hoursAgo * 3_600_000)
  const started = new Date(finished.getTime() - 30_000)
  const full = { ...defaultRequest(REPO), ...request }
  return {
    ...newBuildRecord(ulid(started.getTime()), full, started),
    status: 'succeeded',
    commit: 'c0ffee'.padEnd(40, '0'),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: 30_000,
    attempts: 1,
    builder: 'buildkit',
    phases: [{ name: 'build', status: 'succeeded', startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationMs: 30_000 }],
    image: image(sizeBytes, full.maxImageBytes)
  }
}

/** Seconds in a timer's text: "42 s", "1 min 5 s", "2 min". */
function seconds (text: string): number {
  const match = /^(?:(\d+) min)? ?(?:(\d+) s)?$/.exec(text.trim())
  if (!match || (!match[1] && !match[2])) throw new Error(`not a duration in seconds or minutes: ${text}`)
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0)
}

if (chromiumMissing) {
  t.plan(0, `the portal's browser tests need ${CHROMIUM} (Debian's chromium package; scripts/setup.sh installs it)`)
} else {
  const { storage, page, screenshot, visit } = await openPortal(t, 'portal-charts')
  // Every interval the portal sets, by its period, so that the test can see which are still set.
  await page.addInitScript(`{
    const periods = new Map()
    const set = window.setInterval.bind(window)
    const clear = window.clearInterval.bind(window)
    window.setInterval = (fn, ms, ...rest) => { const id = set(fn, ms, ...rest); periods.set(id, ms); return id }
    window.clearInterval = (id) => { periods.delete(id); clear(id) }
    window.intervalsOf = (ms) => [...periods.values()].filter((period) => period === ms).length
  }`)
  const secondTimers = () => page.evaluate<number>('window.intervalsOf(1000)')

  t.test('the size chart: a 700 kB and an 800 MB image both visible, on round ticks, budgets labelled', async (t) => {
    const slim = { target: 'static', maxImageBytes: 1 * MB }
    const full = { dockerfile: 'Dockerfile.full', maxImageBytes: 900 * MB }
    const builds = [succeeded(slim, 700_000, 50), succeeded(full, 800 * MB, 49), succeeded(slim, 720_000, 26), succeeded(full, 812 * MB, 25), succeeded(slim, 690_000, 2)]
    for (const build of builds) await storage.builds.create(build)

    await visit(`#/repos/${encodeURIComponent(REPO)}`)
    const chart = page.locator('.size-chart')
    await chart.waitFor()
    t.match(await chart.getAttribute('class'), /scale-log/, 'sizes 1000 times apart go on a log scale')
    t.match(await chart.getAttribute('aria-label'), /logarithmic/, 'and it says so to a screen reader')
    t.equal(await page.locator('.size-chart .scale-note').textContent(), 'log scale', 'and on the chart')

    const ticks = await page.locator('.size-chart .grid text').allTextContents()
    t.ok(ticks.length >= 4, `${ticks.join(', ')}: several ticks`)
    t.ok(ticks.every((tick) => ROUND_SIZE.test(tick)), `${ticks.join(', ')}: every tick round`)
    t.ok(ticks.includes('1 MB') && ticks.includes('100 MB'), 'powers of ten among them')

    const grid = await page.locator('.size-chart .grid line').evaluateAll((lines) => lines.map((line) => line.getBoundingClientRect().y))
    const [axisTop, axisBottom] = [Math.min(...grid), Math.max(...grid)]
    const points = await page.locator('.size-chart circle.point').evaluateAll((circles) => circles.map((circle) => {
      const box = circle.getBoundingClientRect()
      return { y: box.y + box.height / 2, height: box.height, title: circle.parentElement?.querySelector('title')?.textContent ?? '' }
    }))
    t.equal(points.length, builds.length, 'a point per build')
    const smallest = points.find((p) => p.title.startsWith('690 kB'))!
    const largest = points.find((p) => p.title.startsWith('812 MB'))!
    t.ok(points.every((p) => p.height >= 8), 'every point drawn at a visible size')
    t.ok(axisBottom - smallest.y > 30, `the 690 kB point stands ${Math.round(axisBottom - smallest.y)} px clear of the bottom of the axis`)
    t.ok(smallest.y - largest.y > 200, `and ${Math.round(smallest.y - largest.y)} px below the 812 MB one`)
    t.ok(largest.y > axisTop, 'which is inside the axis')

    const budgets = await page.locator('.size-chart .budget-label').allTextContents()
    t.same(budgets.sort(), ['budget 1 MB · default branch · Dockerfile · target static', 'budget 900 MB · default branch · Dockerfile.full'], 'each budget line says its size and the series it holds')
    const times = await page.locator('.size-chart .time-tick').allTextContents()
    t.ok(times.length >= 2, `the time axis has ticks: ${times.join(', ')}`)
    await screenshot('charts-01-sizes-log')
  })

  t.test('sizes within tenfold: a linear axis from zero, on round ticks', async (t) => {
    const repo = 'https://git.example.com/acme/charts-linear.git'
    const request = { ...defaultRequest(repo), maxImageBytes: 500 * MB }
    const builds = [succeeded(request, 300 * MB, 5), succeeded(request, 420 * MB, 3)]
    for (const build of builds) await storage.builds.create(build)
    await visit(`#/repos/${encodeURIComponent(repo)}`)
    const chart = page.locator('.size-chart')
    await chart.waitFor()
    t.match(await chart.getAttribute('class'), /scale-linear/)
    t.equal(await page.locator('.size-chart .scale-note').count(), 0, 'no log scale to mention')
    const ticks = await page.locator('.size-chart .grid text').allTextContents()
    t.same(ticks, ['0 B', '100 MB', '200 MB', '300 MB', '400 MB', '500 MB'], 'round ticks from zero past the budget')
    t.same(await page.locator('.size-chart .budget-label').allTextContents(), ['budget 500 MB · default branch · Dockerfile'])
    await screenshot('charts-04-sizes-linear')
  })

  t.test("a running build's timeline: a time axis with round ticks, the running step's timer and bar moving on by themselves", async (t) => {
    const now = Date.now()
    const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString()
    const running: BuildRecord = {
      ...newBuildRecord(ulid(now - 80_000), defaultRequest(REPO), new Date(now - 80_000)),
      status: 'running',
      commit: 'c0ffee'.padEnd(40, '0'),
      startedAt: at(75),
      attempts: 1,
      builder: 'buildkit',
      phases: [
        { name: 'context', status: 'succeeded', startedAt: at(75), finishedAt: at(70), durationMs: 5000 },
        { name: 'build', status: 'running', startedAt: at(70), finishedAt: null, durationMs: null }
      ],
      steps: [
        { stage: null, instruction: 'FROM busybox', status: 'succeeded', cached: true, startedAt: at(70), durationMs: 0, line: 1 },
        { stage: null, instruction: 'RUN make', status: 'running', cached: false, startedAt: at(40), durationMs: null, line: 2 },
        { stage: null, instruction: 'RUN make test', status: 'running', cached: false, startedAt: null, durationMs: null, line: 3 }
      ]
    }
    await storage.builds.create(running)
    await visit(`#/builds/${running.id}`)
    const took = page.locator('.timeline tr.step[data-step="1"] td.live')
    await took.waitFor()

    const labels = await page.locator('.timeline .time-axis text').allTextContents()
    const marks = labels.map(seconds)
    const step = marks[1]! - marks[0]!
    t.equal(marks[0], 0, `the axis starts at 0 s: ${labels.join(', ')}`)
    t.ok([1, 2, 5, 10, 15, 30, 60, 120, 300].includes(step), `its ticks a round ${step} s apart`)
    t.ok(marks.every((mark, i) => mark === i * step), 'all of them')
    t.ok(marks.at(-1)! >= 75, 'and it reaches past the time the build has run')

    const width = () => page.locator('.timeline tr.step[data-step="1"] rect').evaluate((rect) => rect.getBoundingClientRect().width)
    const before = seconds(await took.innerText())
    const widthBefore = await width()
    t.ok(before >= 40 && before < 50, `the running step shows how long it has run: ${before} s`)
    // The page fetches the build again every 2 s, which shows the time then too: a timer of its
    // own changes it every second, so it is seen going up by one at least twice in 5 s. (Not
    // "three changes in 3.2 s": on a loaded machine a look can come late and miss a second.)
    const seen = [before]
    const byOne = () => seen.filter((value, i) => i > 0 && value === seen[i - 1]! + 1).length
    for (const started = Date.now(); Date.now() - started < 5000 && (byOne() < 2 || seen.at(-1)! < before + 3);) {
      await page.waitForTimeout(100)
      const now = seconds(await took.innerText())
      if (now !== seen.at(-1)) seen.push(now)
    }
    t.ok(byOne() >= 2 && seen.at(-1)! >= before + 3, `and it counts on each second, without a reload: ${seen.join(', ')} s`)
    t.ok((await width()) > widthBefore, 'its bar grew')
    t.equal(await page.locator('.timeline tr.step[data-step="2"] td.live').count(), 0, 'a step still waiting has no timer')
    t.equal(await page.locator('.timeline tr.phase-running td.live').count(), 1, 'the running phase has one too')
    await screenshot('charts-02-timeline-running')
    t.equal(await secondTimers(), 1, 'one timer moves them')

    // Within the page, as a person goes: a new document would drop every timer anyway.
    await page.click('text=Repository sizes')
    await page.locator('.size-chart').waitFor()
    t.equal(await secondTimers(), 0, 'leaving the page stops it')
    await page.goBack()
    await took.waitFor()
    t.equal(await secondTimers(), 1, 'coming back starts it again')
    await page.click('header a[data-nav=builds]')
    await page.locator('h1', { hasText: 'Builds' }).waitFor()
    t.equal(await secondTimers(), 0, 'and any other page stops it')
    await page.goBack()
    await took.waitFor()

    const finished = new Date().toISOString()
    await storage.builds.transition(running.id, {
      from: ['running'],
      to: 'succeeded',
      set: {
        finishedAt: finished,
        durationMs: Date.now() - Date.parse(running.startedAt!),
        phases: [running.phases[0]!, { ...running.phases[1]!, status: 'succeeded', finishedAt: finished, durationMs: Date.now() - Date.parse(running.phases[1]!.startedAt) }],
        steps: running.steps.map((step) => ({ ...step, status: 'succeeded', startedAt: step.startedAt ?? finished, durationMs: step.durationMs ?? 1000 }))
      }
    })
    await page.locator('#build-status [data-status="succeeded"]').waitFor({ timeout: 20_000 })
    await page.locator('#log-state', { hasText: /complete|empty/ }).waitFor({ timeout: 20_000 })
    t.equal(await page.locator('.timeline td.live').count(), 0, 'once the build ended, no timer runs on the timeline')
    t.equal(await secondTimers(), 0, 'and the page stopped its clock')
    await screenshot('charts-03-timeline-ended')
  })
}
