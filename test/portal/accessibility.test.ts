import t from 'tap'
import { accessibilityViolations } from '../helpers/accessibility.js'
import { chromiumMissing, CHROMIUM, openBrowser } from '../helpers/browser.js'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// Every page of the portal through axe-core's WCAG 2.1 A and AA rules (names, labels, roles,
// contrast), as a read-only and as a read-write token sees it, over real builds: one that
// succeeded and pushed, one that failed. And the portal used with the keyboard alone: sign in,
// reach a build, open it, with the focus always visible.

if (chromiumMissing) {
  t.plan(0, `the portal's browser tests need ${CHROMIUM} (Debian's chromium package; scripts/setup.sh installs it)`)
} else {
  const slipway = await startSlipway(t)
  const url = await slipway.listen()
  const registry = await startRegistry(t)
  const tokenFor = async (name: string, scopes: string[]) =>
    (await slipway.app.inject({ method: 'POST', url: '/v1/tokens', payload: { name, scopes } })).json<{ token: string }>().token
  const readOnly = await tokenFor('a11y-read', ['builds:read'])
  const readWrite = await tokenFor('a11y-write', ['builds:read', 'builds:write'])

  const repo = await createRepo(t, { Dockerfile: 'FROM busybox AS build\nRUN echo made > /made\nFROM busybox\nCOPY --from=build /made /made\n' })
  const submit = async (dockerfile: string) =>
    (await slipway.app.inject({
      method: 'POST',
      url: '/v1/builds',
      headers: { authorization: `Bearer ${readWrite}` },
      payload: { repo: repo.url, dockerfile, image: `${registry.host}/a11y/app` }
    })).json<{ id: string }>().id
  const succeeded = await slipway.wait(await submit('Dockerfile'))
  const failing = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo about to fail && exit 3\n' })
  const failed = await slipway.wait(
    (await slipway.app.inject({
      method: 'POST',
      url: '/v1/builds',
      headers: { authorization: `Bearer ${readWrite}` },
      payload: { repo: failing.url, image: `${registry.host}/a11y/broken` }
    })).json<{ id: string }>().id
  )
  // The root test ends at its first assertion with nothing pending, so these are checked by throwing.
  if (succeeded.status !== 'succeeded' || failed.status !== 'failed') throw new Error(`the builds to look at ended ${succeeded.status} and ${failed.status}`)

  const { page, screenshot } = await openBrowser(t)
  const visit = async (hash: string, token: string) => {
    await page.goto('about:blank')
    await page.goto(`${url}/portal/#/builds`)
    await page.evaluate(`sessionStorage.setItem('slipway.token', ${JSON.stringify(token)})`)
    await page.goto('about:blank')
    await page.goto(`${url}/portal/${hash}`)
  }

  const pages = [
    { name: 'the builds list', hash: '#/builds', ready: '#builds table' },
    { name: 'a succeeded build', hash: `#/builds/${succeeded.id}`, ready: '#build-status [data-status="succeeded"]' },
    { name: 'a failed build', hash: `#/builds/${failed.id}`, ready: '#build-status [data-status="failed"]' },
    { name: 'the repository page', hash: `#/repos/${encodeURIComponent(repo.url)}`, ready: '.size-chart' },
    { name: 'the submit form', hash: '#/submit', ready: '#submit-form' }
  ]
  for (const [who, token] of [['read-only', readOnly], ['read-write', readWrite]] as const) {
    for (const { name, hash, ready } of pages) {
      t.test(`${name}, as a ${who} token, breaks no WCAG 2.1 AA rule axe-core checks`, async (t) => {
        await visit(hash, token)
        await page.locator(ready).first().waitFor()
        await page.locator('#session-name').waitFor()
        const violations = await accessibilityViolations(page)
        if (violations.length > 0) await screenshot(`a11y-${who}-${name.replaceAll(' ', '-')}`)
        t.same(violations, [], 'no violations')
      })
    }
  }

  t.test('the sign-in page breaks no rule', async (t) => {
    await page.goto('about:blank')
    await page.goto(`${url}/portal/#/builds`)
    await page.evaluate('sessionStorage.clear()')
    await page.goto('about:blank')
    await page.goto(`${url}/portal/#/builds`)
    await page.locator('#token').waitFor()
    t.same(await accessibilityViolations(page), [], 'no violations')
  })

  t.test('with the keyboard alone: sign in, reach a build, open it; the focus is always visible', async (t) => {
    // Still on the sign-in page of the test before, with nothing focused.
    interface Focused { tag: string; id: string; text: string; href: string | null; visible: boolean }
    const focused = () =>
      page.evaluate<Focused>(`(() => {
        const el = document.activeElement
        const style = getComputedStyle(el)
        return { tag: el.tagName, id: el.id, text: (el.textContent || '').trim().slice(0, 80), href: el.getAttribute('href'),
          visible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0 || style.boxShadow !== 'none' }
      })()`)
    /** Presses Tab until `wanted` holds of the focused element (at most `limit` times), checking each stop shows its focus. */
    const tabTo = async (wanted: (element: Focused) => boolean, limit = 60) => {
      for (let i = 0; i < limit; i++) {
        await page.keyboard.press('Tab')
        const element = await focused()
        // Past the last link the focus leaves the page for the browser's own controls.
        if (element.tag === 'BODY') continue
        t.ok(element.visible, `focus on ${element.tag} ${element.id || element.text || element.href} is visible`)
        if (wanted(element)) return element
      }
      throw new Error(`nothing wanted reached in ${limit} presses of Tab`)
    }
    await tabTo((element) => element.id === 'token')
    await page.keyboard.type(readOnly)
    await page.keyboard.press('Enter')
    await page.locator('#builds table').waitFor()
    await tabTo((element) => element.tag === 'A' && element.href === `#/builds/${failed.id}`)
    await page.keyboard.press('Enter')
    await page.locator('#build-status [data-status="failed"]').waitFor()
    t.match(page.url(), `#/builds/${failed.id}`, 'Enter on the link opens the build')
    await screenshot('a11y-keyboard-build')
  })
}
