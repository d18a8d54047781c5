import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { chromium, type Page } from 'playwright-core'
import { packageRoot } from '../../src/package-info.js'
import { tempFolder } from './files.js'
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
