import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { AxeResults } from 'axe-core'
import type { Page } from 'playwright-core'

/**
 * axe-core's browser bundle. It is evaluated in the page rather than added as a script tag: the
 * portal's Content-Security-Policy (rightly) refuses inline and foreign scripts.
 */
const AXE_SCRIPT = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/** The WCAG 2.1 A and AA rules: labels, names, roles, keyboard reachability, contrast. */
const RULE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']

export interface Violation {
  rule: string
  impact: string | null
  help: string
  /** The first elements that break it: a CSS selector, and axe's words for what is wrong there. */
  elements: string[]
}

/** What axe-core finds wrong with the page as it is drawn now (an empty list: nothing). */
export async function accessibilityViolations (page: Page): Promise<Violation[]> {
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE_SCRIPT)
  const results = await page.evaluate<AxeResults>(`window.axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(RULE_TAGS)} } })`)
  return results.violations.map((violation) => ({
    rule: violation.id,
    impact: violation.impact ?? null,
    help: violation.help,
    elements: violation.nodes.slice(0, 5).map((node) => `${node.target.join(' ')}: ${node.failureSummary ?? ''}`)
  }))
}
