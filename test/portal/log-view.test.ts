import { readFile } from 'node:fs/promises'
import t from 'tap'
import { ulid } from 'ulid'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import type { BuildRecord } from '../../src/domain/schemas/build.js'
import type { LogStreamName } from '../../src/storage/build-log.js'
import { chromiumMissing, CHROMIUM, openPortal } from '../helpers/browser.js'
import { defaultRequest } from '../helpers/fixtures.js'

// The build page's log as a reader works with it (src/portal/log-view.js): numbered lines with
// links, timestamps on request, Dockerfile steps folded (the failing one open), search, the raw
// log as a download, following that leaves a reader who scrolled up where they were, and a log at
// the 16 MiB cap. The builds and their logs are stored as a worker leaves them, through the
// storage layer; the log's lines are as BuildKit's and the classic builder's are written.

type Line = [stream: LogStreamName, text: string] | string

if (chromiumMissing) {
  t.plan(0, `the portal's browser tests need ${CHROMIUM} (Debian's chromium package; scripts/setup.sh installs it)`)
} else {
  const { slipway, storage, page, screenshot, visit } = await openPortal(t, 'log-reader')
  const MAX_BYTES = slipway.config.logMaxBytes
  const text = (selector: string) => page.locator(selector).first().innerText()
  const rowTexts = (selector: string) => page.locator(`#log ${selector} .line`).allInnerTexts()
  const at = (seconds: number) => new Date(Date.now() - 60_000 + seconds * 1000).toISOString()
  /** Waits until `expression` is true in the page (waitForFunction polls with eval, which the portal's CSP refuses). */
  const until = async (expression: string, timeout = 15_000) => {
    for (const end = Date.now() + timeout; !(await page.evaluate(expression)); await new Promise((resolve) => setTimeout(resolve, 50))) {
      if (Date.now() > end) throw new Error(`still not true after ${timeout} ms: ${expression}`)
    }
  }
  const request = defaultRequest('https://git.example.com/acme/app.git', 'registry.example.com/acme/app')

  /** Stores a build and writes its log, a phase marker ("==> build") starting each phase. */
  const store = async (record: BuildRecord, lines: Line[]) => {
    await storage.builds.create(record)
    const writer = await storage.buildLogs.openWriter(record.id, { maxBytes: MAX_BYTES, redact: (line) => line })
    await write(writer, lines)
    return writer
  }
  let phase = ''
  const write = async (writer: Awaited<ReturnType<typeof storage.buildLogs.openWriter>>, lines: Line[]) => {
    for (const line of lines) {
      const [stream, said] = typeof line === 'string' ? (['stdout', line] as const) : line
      if (stream === 'system' && said.startsWith('==> ')) phase = said.slice(4).split(' ')[0]!
      writer.write(phase, stream, said)
      await writer.drain()
    }
    await writer.flush()
  }
  const ended = (status: BuildRecord['status'], error?: BuildRecord['error']): BuildRecord => ({
    ...newBuildRecord(ulid(), request, new Date()),
    status,
    startedAt: at(0),
    finishedAt: at(20),
    durationMs: 20_000,
    ...(error ? { error } : {})
  })

  const FAILING = '[3/3] RUN echo about to fail && exit 3'
  const failed = ended('failed', { code: 'BUILD_STEP_FAILED', message: 'The step RUN echo about to fail && exit 3 failed with exit code 3.', phase: 'build', step: FAILING, exitCode: 3 })
  await store(failed, [
    ['system', '==> clone'],
    'Cloning into /work/src...',
    ['system', '==> build'],
    '#1 [internal] load build definition from Dockerfile',
    '#1 DONE 0.0s',
    '#2 [1/3] FROM docker.io/library/busybox',
    '#2 CACHED',
    '#3 [2/3] RUN echo preparing',
    '#3 preparing',
    `#4 ${FAILING}`,
    // BuildKit runs steps side by side: a line of #3 after #4 started is still #3's.
    '#3 DONE 0.3s',
    '#4 about to fail',
    ['stderr', '#4 ERROR: process "/bin/sh -c echo about to fail && exit 3" did not complete successfully: exit code: 3'],
    ['system', '==> failed after 5s: BUILD_STEP_FAILED: The step RUN echo about to fail && exit 3 failed with exit code 3.']
  ])

  const classic = ended('failed', { code: 'BUILD_STEP_FAILED', message: 'The step failed.', phase: 'build', step: 'Step 3/3 : RUN echo about to fail && exit 3', exitCode: 3 })
  await store(classic, [
    ['system', '==> build'],
    'Step 1/3 : FROM busybox',
    ' ---> 6fd955f66c23',
    'Step 2/3 : RUN echo preparing',
    'preparing',
    'Step 3/3 : RUN echo about to fail && exit 3',
    'about to fail',
    ['system', '==> failed after 4s: BUILD_STEP_FAILED: The step failed.']
  ])

  const canceled = ended('canceled', { code: 'CANCELED', message: 'The build was canceled.', phase: 'build' })
  await store(canceled, [['system', '==> build'], '#1 [1/2] FROM docker.io/library/busybox', '#1 CACHED', '#2 [2/2] RUN sleep 60', '#2 sleeping', ['system', '==> canceled after 10s: CANCELED']])

  const succeeded = ended('succeeded')
  await store(succeeded, [['system', '==> build'], '#1 [1/2] FROM docker.io/library/busybox', '#1 CACHED', '#2 [2/2] RUN seq 1 3', '#2 1', '#2 2', '#2 3', '#2 DONE 0.1s', ['system', '==> succeeded in 3s']])

  t.test('a failed build: its steps folded, the failing one open and marked, each line numbered', async (t) => {
    await visit(`#/builds/${failed.id}`)
    await page.locator('#log-state', { hasText: 'complete' }).waitFor()
    await page.locator('#log .failing').first().waitFor()
    t.same(await rowTexts('.failing'), [`#4 ${FAILING}`, '#4 about to fail', '#4 ERROR: process "/bin/sh -c echo about to fail && exit 3" did not complete successfully: exit code: 3'], 'the failing step, its header and its lines, is open and marked')
    t.same(
      await page.locator('#log .log-group .line').allInnerTexts(),
      ['==> clone', '#1 [internal] load build definition from Dockerfile', '#2 [1/3] FROM docker.io/library/busybox', '#3 [2/3] RUN echo preparing', `#4 ${FAILING}`],
      'a group per phase and per step, each under its header (a header alone, as "==> build" here, is a plain line)'
    )
    t.equal(await page.locator('#log .line', { hasText: /^#3 preparing$/ }).count(), 0, 'the steps that did not fail are folded')
    t.equal(await page.locator('#log .log-group[data-line="4"] button.fold').getAttribute('aria-expanded'), 'false')
    t.equal(await text('#log .log-group[data-line="8"] .outcome'), '0.3s', 'a step says how long it took, even when its DONE came after the next step started')
    t.equal(await text('#log .log-group[data-line="6"] .outcome'), 'cached')
    t.equal(await page.locator('#log .log-row[data-line="12"] a.ln').getAttribute('href'), `#/builds/${failed.id}?line=12`, 'each line number links to the line')
    t.equal(await text('#log .log-row[data-line="12"] .line'), '#4 about to fail', 'numbered as the raw log is')
    t.same(
      await page.locator('#log .log-row[data-line="12"], #log .log-row[data-line="13"], #log .log-row[data-line="14"]').evaluateAll((rows) => rows.map((row) => row.className.match(/stream-\w+/)?.[0])),
      ['stream-stdout', 'stream-stderr', 'stream-system'],
      'each line shows the stream it came on'
    )
    await screenshot('log-01-failed-step-open')

    await page.click('#log .log-group[data-line="8"] button.fold')
    t.same(await page.locator('#log .log-row[data-line="9"] .line, #log .log-row[data-line="11"] .line').allInnerTexts(), ['#3 preparing', '#3 DONE 0.3s'], "opening a step shows its lines, BuildKit's interleaved ones in their step")
    t.equal(await page.evaluate('document.activeElement?.closest(".log-row")?.dataset.line'), '8', 'the focus stays on the step opened')
    await page.keyboard.press('Enter')
    t.equal(await page.locator('#log .log-row[data-line="9"]').count(), 0, 'and the keyboard folds it again')

    await page.click('#log-collapse')
    t.equal(await page.locator('#log .failing').count(), 1, 'Collapse all folds the failing step too')
    await page.click('#build-error button.link')
    t.equal(await page.locator('#log .log-group.failing').count(), 1, '"show it in the log" finds the failing step')
  })

  t.test("the classic builder's steps and a canceled build's last step", async (t) => {
    await visit(`#/builds/${classic.id}`)
    await page.locator('#log .failing').first().waitFor()
    t.same(await rowTexts('.failing'), ['Step 3/3 : RUN echo about to fail && exit 3', 'about to fail'], 'a classic step is its header and the lines up to the next')
    t.equal(await page.locator('#log .line', { hasText: /^preparing$/ }).count(), 0)

    await visit(`#/builds/${canceled.id}`)
    await page.locator('#log .line', { hasText: /^#2 sleeping$/ }).waitFor()
    t.pass('a build stopped without a failing step opens the step that ran last in its phase')
    t.equal(await page.locator('#log .failing').count(), 0, 'and marks nothing as failing')

    await visit(`#/builds/${succeeded.id}`)
    await page.locator('#log-state', { hasText: 'complete, 9 lines' }).waitFor()
    t.equal(await page.locator('#log .line', { hasText: /^#2 1$/ }).count(), 0, "a succeeded build's steps are all folded")
    await page.click('#log-expand')
    t.equal(await page.locator('#log .log-row').count(), 9, 'Expand all shows every line')
  })

  t.test('a linked line opens its step, is highlighted and in sight; timestamps on request, kept', async (t) => {
    await visit(`#/builds/${failed.id}?line=9`)
    await page.locator('#log .log-row.target').waitFor()
    t.equal(await text('#log .log-row.target .line'), '#3 preparing', 'the line, in a step that would be folded')
    t.ok(await page.locator('#log .log-row.target').isVisible(), 'in sight')
    t.ok(await page.evaluate('(() => { const r = document.querySelector(\'#log .log-row.target\').getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight })()'), 'within the window')
    t.ok(await page.locator('#log .failing').count(), 'the failing step is open as well')
    await screenshot('log-02-linked-line')

    await page.click('#log .log-row[data-line="12"] a.ln')
    t.match(page.url(), new RegExp(`#/builds/${failed.id}\\?line=12$`), 'a line number puts its link in the address')
    t.equal(await text('#log .log-row.target .line'), '#4 about to fail', 'and highlights it, without loading the page again')

    t.notOk(await page.locator('#log .log-row .ts').first().isVisible(), 'timestamps are hidden at first')
    await page.check('#log-timestamps')
    t.match(await text('#log .log-row .ts'), /^\d{2}:\d{2}:\d{2}\.\d{3}$/, 'then shown, to the millisecond')
    await visit(`#/builds/${succeeded.id}`)
    await page.locator('#log .log-row').first().waitFor()
    t.ok(await page.locator('#log .log-row .ts').first().isVisible(), 'and still on another page, another time')
    await page.uncheck('#log-timestamps')
  })

  t.test('search: a count, next and previous, into folded steps', async (t) => {
    await visit(`#/builds/${failed.id}`)
    await page.locator('#log-state', { hasText: 'complete' }).waitFor()
    await page.fill('#log-search', 'PREPARING')
    await page.locator('#log-search-count', { hasText: '1 of 2 lines' }).waitFor()
    t.equal(await text('#log .current-match .line'), '#3 [2/3] RUN echo preparing', 'the first match, case aside')
    t.equal(await text('#log .current-match mark'), 'preparing', 'its match marked')
    await page.keyboard.press('Enter')
    t.equal(await text('#log-search-count'), '2 of 2 lines')
    t.equal(await text('#log .current-match .line'), '#3 preparing', 'Enter: the next, its folded step opened')
    await page.click('#log-search-next')
    t.equal(await text('#log-search-count'), '1 of 2 lines', 'after the last, the first again')
    await page.click('#log-search-previous')
    t.equal(await text('#log-search-count'), '2 of 2 lines', 'and back')
    await screenshot('log-03-search')
    await page.fill('#log-search', 'nowhere to be found')
    await page.locator('#log-search-count', { hasText: 'no matches' }).waitFor()
    t.pass('no match says so')
  })

  t.test('the raw log downloads, with the token in a header, not the address', async (t) => {
    await visit(`#/builds/${classic.id}`)
    await page.locator('#log-state', { hasText: 'complete' }).waitFor()
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#log-download')])
    t.equal(download.suggestedFilename(), `slipway-build-${classic.id}.log`)
    t.match(download.url(), /^blob:/, 'saved from memory')
    const saved = await readFile((await download.path()), 'utf8')
    t.equal(saved.split('\n')[6], 'about to fail', 'the log as the API reads it, line 7 the line the portal numbers 7')
  })

  t.test('following: the newest lines while at the bottom; a reader who scrolled up stays put', async (t) => {
    const running: BuildRecord = { ...newBuildRecord(ulid(), request, new Date()), status: 'running', startedAt: at(0) }
    const numbered = (step: number, from: number, count: number) => Array.from({ length: count }, (_, i) => `#${step} output ${from + i}`)
    const writer = await store(running, [['system', '==> build'], '#1 [1/3] FROM docker.io/library/busybox', '#2 [2/3] RUN make', ...numbered(2, 1, 200)])
    await visit(`#/builds/${running.id}`)
    await page.locator('#log .line', { hasText: /^#2 output 200$/ }).waitFor()
    const bottom = () => page.evaluate<number>("(() => { const l = document.getElementById('log'); return l.scrollHeight - l.scrollTop - l.clientHeight })()")
    t.ok((await bottom()) < 40, 'the view is at the newest line')
    t.ok(await page.locator('#log-jump').isHidden(), 'with nothing to jump to')

    await write(writer, numbered(2, 201, 100))
    await page.locator('#log .line', { hasText: /^#2 output 300$/ }).waitFor()
    await until("(() => { const l = document.getElementById('log'); return l.scrollHeight - l.scrollTop - l.clientHeight < 40 })()")
    t.pass('and follows the lines that arrive')

    await page.evaluate("document.getElementById('log').scrollTop = 20 * 100")
    await page.locator('#log-jump').waitFor()
    const firstInSight = () => page.evaluate<string>("(() => { const l = document.getElementById('log'); const top = l.getBoundingClientRect().top; return [...l.querySelectorAll('.log-row')].find((r) => r.getBoundingClientRect().bottom > top + 1).dataset.line })()")
    const reading = await firstInSight()
    // #1's lines go above what the reader is reading, #2's below it, and a new step after.
    await write(writer, [...numbered(1, 1, 50), ...numbered(2, 301, 100), '#3 [3/3] RUN make install', ...numbered(3, 1, 50)])
    // Every row, all groups open: "==> build", #1 and its 50 lines, #2 and its 400, #3 and its 50.
    await until(`document.querySelector('#log .log-spacer').style.height === '${(1 + 51 + 401 + 51) * 20}px'`)
    t.equal(await firstInSight(), reading, 'the reader still reads the same line')
    t.ok((await bottom()) > 1000, 'far from the bottom')
    await screenshot('log-04-scrolled-up-while-following')

    await page.click('#log-jump')
    await until("(() => { const l = document.getElementById('log'); return l.scrollHeight - l.scrollTop - l.clientHeight < 40 })()")
    t.ok(await page.locator('#log-jump').isHidden(), 'Jump to latest goes to the newest line, and follows again')
    await write(writer, numbered(3, 51, 20))
    await page.locator('#log .line', { hasText: /^#3 output 70$/ }).waitFor()
    t.ok((await bottom()) < 40)

    await writer.close()
    await storage.builds.transition(running.id, { from: ['running'], to: 'succeeded', set: { finishedAt: new Date().toISOString(), durationMs: 1000 } })
    await page.locator('#build-status [data-status="succeeded"]').waitFor({ timeout: 15_000 })
    await page.locator('#log-state', { hasText: 'complete' }).waitFor()
    t.ok(await page.locator('#log-jump').isHidden(), 'an ended build has nothing to follow')
  })

  t.test(`a log at the cap (${MAX_BYTES / 1024 / 1024} MiB) is ready in seconds, and searchable`, async (t) => {
    const big = ended('failed', { code: 'BUILD_STEP_FAILED', message: 'The step failed.', phase: 'build', step: '[2/2] RUN ./test.sh', exitCode: 1 })
    const padding = 'x'.repeat(70)
    const lines: Line[] = [['system', '==> build'], '#1 [1/2] FROM docker.io/library/busybox', '#1 CACHED', '#2 [2/2] RUN ./test.sh']
    // Lines of some 86 bytes, 5% past the cap: the writer keeps what fits and says how much it dropped.
    for (let i = 1, bytes = 0; bytes < MAX_BYTES * 1.05; i++) {
      const line = `#2 test ${String(i).padStart(6, '0')} ${padding}`
      lines.push(line)
      bytes += line.length + 1
    }
    lines.push(['stderr', '#2 ERROR: process "/bin/sh -c ./test.sh" did not complete successfully: exit code: 1'])
    const writer = await store(big, lines)
    await writer.close()

    // Every task that held the page's main thread over 50 ms, from the page's first script on.
    await page.addInitScript(`{
      window.longTasks = []
      new PerformanceObserver((list) => { for (const task of list.getEntries()) window.longTasks.push(task.duration) }).observe({ type: 'longtask' })
    }`)
    const asked: string[] = []
    page.on('request', (request) => {
      if (request.url().endsWith(`/v1/builds/${big.id}/logs`)) asked.push(request.headers().accept ?? '')
    })
    const started = Date.now()
    await visit(`#/builds/${big.id}`)
    await page.locator('#log .log-row').first().waitFor({ timeout: 60_000 })
    const firstRows = Date.now() - started
    // While the rest streams in, the page answers: the longest wait for a round trip to it.
    let slowest = 0
    while ((await page.locator('#log-state', { hasText: 'complete' }).count()) === 0) {
      const asked = Date.now()
      await page.evaluate('1')
      slowest = Math.max(slowest, Date.now() - asked)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await page.locator('#log-state', { hasText: 'complete' }).waitFor({ timeout: 120_000 })
    await page.locator('#log .log-row').first().waitFor()
    const ready = Date.now() - started
    const lineCount = Number((await text('#log-state')).replace(/\D/g, ''))
    const longTasks = await page.evaluate<number[]>('window.longTasks')
    const longest = Math.round(Math.max(0, ...longTasks))
    t.comment(`${lineCount.toLocaleString()} lines: the first rows drawn after ${firstRows} ms, all of them arrived after ${ready} ms; the page answered within ${slowest} ms meanwhile, its longest task ${longest} ms (${longTasks.length} over 50 ms)`)
    t.same(asked, ['application/x-ndjson'], "an ended build's log is read once, as NDJSON: its lines without the events around them")
    // Ceilings with room for a loaded CI host. Measured beside a CI run: the first rows in 0.3-0.9 s,
    // all of them in 2.7-4.6 s, no task over 100 ms (most runs none over 50 ms).
    t.ok(firstRows < 3000, 'the first rows are drawn while the rest streams in')
    t.ok(longest < 250, 'the page is never held for long: it is given its turn as the lines are read')
    t.ok(slowest < 2000, 'and it answers meanwhile')
    t.ok(lineCount > 190_000, 'some 200,000 lines')
    t.ok(ready < 15_000, 'all of them within seconds')
    t.ok((await page.locator('#log .log-row').count()) < 300, 'only the rows in sight (and a few around) are elements')

    const searchStarted = Date.now()
    await page.fill('#log-search', 'test 123456')
    await page.locator('#log-search-count', { hasText: '1 of 1 lines' }).waitFor({ timeout: 30_000 })
    const searched = Date.now() - searchStarted
    t.comment(`search over ${lineCount.toLocaleString()} lines: ${searched} ms (with the ${150} ms typing pause)`)
    t.ok(searched < 1500, 'a search of every line answers at once')
    t.match(await text('#log .current-match .line'), /^#2 test 123456 x+$/, 'finds a line deep in the log')
    const scrollStarted = Date.now()
    await page.evaluate("document.getElementById('log').scrollTop = 20 * 100_000")
    await until("[...document.querySelectorAll('#log .log-row')].some((r) => Number(r.dataset.line) > 99_000)")
    const jumped = Date.now() - scrollStarted
    t.comment(`a jump to line 100,000 drawn in ${jumped} ms`)
    t.ok(jumped < 1000, 'and so does a jump deep into the log')
    await page.fill('#log-search', 'dropped')
    await page.locator('#log-search-count', { hasText: /^1 of 1 lines$/ }).waitFor()
    t.match(await text('#log .current-match .line'), /^\[slipway\] \d+ bytes in \d+ lines were dropped past the log limit\.$/, "the cap's marker is in the log, and found")
    await screenshot('log-05-16-mib')
  })
}
