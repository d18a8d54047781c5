import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { Redis } from 'ioredis'
import { chromium, type Page } from 'playwright-core'
import type { Test } from 'tap'
import type { Config } from '../../src/domain/config.js'
import { packageRoot } from '../../src/package-info.js'
import { createStorage } from '../../src/storage/storage.js'
import { tempFolder } from './files.js'
import { startSlipway } from './slipway.js'
import type { Teardown } from './teardown.js'

/** Debian's chromium package (scripts/setup.sh installs it); never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium'

/** Where page tests save their screenshots (gitignored; CI keeps them as artefacts). */
export const SCREENSHOT_DIR = path.join(packageRoot, 'test', 'portal', 'screenshots')

// Without the background-networking flags Chromium keeps trying to reach the outside, which
// nothing here can (see ../shared/MACHINE.md).
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** A real headless Chromium with a fresh, empty profile, closed and removed when the test ends. */
export async function openBrowser (t: Teardown): Promise<{ page: Page; screenshot: (name: string) => Promise<void> }> {
  const profile = await tempFolder(t, {}, 'slipway-chromium-')
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } })
  t.teardown(() => context.close())
  await mkdir(SCREENSHOT_DIR, { recursive: true })
  const page = context.pages()[0] ?? (await context.newPage())
  return { page, screenshot: (name) => page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true }).then(() => undefined) }
}

export const chromiumMissing = !existsSync(CHROMIUM)

/**
 * A Slipway serving the portal (with `config` over the test defaults), its storage (for records
 * made by hand), and the portal in a fresh browser, signed in with a new read-only token of its own
 * (as a person who pasted it would be); `visit` opens one of its pages afresh, as typing its
 * address would.
 */
export async function openPortal (t: Test, tokenName: string, config: Partial<Config> = {}) {
  const slipway = await startSlipway(t, config)
  const url = await slipway.listen()
  const redis = new Redis(slipway.config.redisUrl)
  t.teardown(() => redis.quit())
  const storage = createStorage(redis, slipway.config)
  const token = (await slipway.app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: tokenName, scopes: ['builds:read'] } })).json<{ token: string }>().token
  const { page, screenshot } = await openBrowser(t)
  const visit = async (hash: string) => {
    await page.goto('about:blank')
    await page.goto(`${url}/portal/${hash}`)
  }
  await visit('#/builds')
  await page.evaluate(`sessionStorage.setItem('slipway.token', ${JSON.stringify(token)})`)
  return { slipway, storage, page, screenshot, visit }
}
