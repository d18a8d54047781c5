import { cacheText, summarizeImage } from '../build-summary.js'
import { formatByteChange, formatBytes, formatDuration } from '../format.js'
import { sizeDelta } from '../insight/size-delta.js'
import type { BuildRecord, Image, Step } from '../schemas/build.js'
import type { Finding } from '../schemas/insight.js'
import { truncate } from '../webhooks/chat-formats.js'

// What Slipway says on a pull or merge request: the commit status of a build (a state and a line
// of at most 140 characters, GitHub's limit) and the one comment it keeps on the request, in
// Markdown that GitHub and GitLab both render. Pure words: delivering them is someone else's.
//
// Everything in the comment that comes from a repository (Dockerfile instructions, branch names,
// image names, error messages that quote a build's output) goes through markdownCell, so that it
// cannot end a table cell, open HTML or an HTML comment, format itself, or ping anyone.

export type CommitState = 'pending' | 'running' | 'success' | 'failure' | 'canceled'

/** What a build is compared with: the latest succeeded build of the branch it goes into (a PR's target branch) or of its own branch; null when there is none. */
export interface Baseline {
  build: BuildRecord
  branch: string
}

/** GitHub's limit for a commit status description. */
export const STATUS_DESCRIPTION_MAX = 140
/** GitHub refuses comments over 65,536 characters; the comment stays well inside. */
export const COMMENT_MAX = 60_000

const LAYER_ROWS = 5
const FINDING_ROWS = 10
const INSTRUCTION_CHARS = 80
const CELL_CHARS = 300
const ERROR_CHARS = 600
/** The advisor's messages run to a few hundred characters when they name packages. */
const FINDING_CHARS = 500

// --- The commit status ------------------------------------------------------------------------

/** The state and the one-line description (≤ 140 characters, GitHub's limit) of a commit status for a build as it is now. */
export function commitStatus (build: BuildRecord, baseline: Baseline | null): { state: CommitState; description: string } {
  const [state, description] = statusParts(build, baseline)
  return { state, description: truncate(oneLine(description), STATUS_DESCRIPTION_MAX) }
}

function statusParts (build: BuildRecord, baseline: Baseline | null): [CommitState, string] {
  switch (build.status) {
    case 'queued':
      return ['pending', 'Queued']
    case 'running':
      return ['running', 'Building…']
    case 'succeeded':
      return ['success', build.image ? succeededLine(build.image, baseline) : 'Succeeded']
    case 'failed':
      return ['failure', failedLine(build)]
    case 'timed_out':
      return ['failure', timedOutLine(build)]
    case 'canceled':
      return ['canceled', canceledLine(build)]
  }
}

/** "142 MB, +3.1 MB vs main; 2 findings (1 new); over its 120 MB budget". */
function succeededLine (image: Image, baseline: Baseline | null): string {
  const summary = summarizeImage(image)
  const change = comparison(image, baseline)
  const findings = image.findings.length
  const fresh = baseline?.build.image ? newFindings(image, baseline.build.image).length : 0
  const parts = [
    change ? `${summary.size}, ${formatByteChange(change.bytes)} vs ${baseline!.branch}` : summary.size,
    findings === 0 ? 'no findings' : `${plural(findings, 'finding')}${fresh > 0 && fresh < findings ? ` (${fresh} new)` : ''}`
  ]
  if (summary.budget?.exceeded) parts.push(`over its ${summary.budget.maxBytes} budget`)
  return parts.join('; ')
}

/** "Failed at line 4 RUN make: exit 2", or the error's message. */
function failedLine (build: BuildRecord): string {
  const step = failedStep(build)
  if (step) {
    const exitCode = step.exitCode ?? build.error?.exitCode
    return `Failed at ${stepName(step)}${exitCode === undefined ? '' : `: exit ${exitCode}`}`
  }
  return build.error ? `Failed: ${build.error.message}` : 'Failed'
}

/** "Timed out after 1 h during build". */
function timedOutLine (build: BuildRecord): string {
  const phase = build.error?.phase
  return `Timed out after ${formatDuration(build.request.timeoutSeconds * 1000)}${phase ? ` during ${phase}` : ''}`
}

/** "Canceled by ci-deploy", "Superseded by a newer build", or "Canceled". */
function canceledLine (build: BuildRecord): string {
  if (build.error?.code === 'SUPERSEDED') return 'Superseded by a newer build'
  const name = build.canceledBy?.name
  return name ? `Canceled by ${name}` : 'Canceled'
}

// --- Links and the marker ---------------------------------------------------------------------

/** The portal page of a build: <publicUrl>/portal/#/builds/<id> (publicUrl with trailing slashes removed, id URL-encoded). */
export function portalLink (publicUrl: string, buildId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/portal/#/builds/${encodeURIComponent(buildId)}`
}

/**
 * The hidden marker that finds Slipway's comment again: `<!-- slipway:<context> -->`. The context
 * is kept on one line and cannot close the comment: "%", "<", ">", "!", a "-" before another "-",
 * and anything but printable ASCII are percent-encoded (so two contexts never share a marker).
 */
export function commentMarker (context: string): string {
  const safe = context.replace(/[^\x20-\x7e]|[%<>!]|-(?=-)/gu, percentEncoded)
  return `<!-- slipway:${safe} -->`
}

/** A character as %XX (UTF-8), "!" and "-" too, which encodeURIComponent leaves; a lone surrogate as U+FFFD's. */
function percentEncoded (char: string): string {
  if (char === '!' || char === '-') return `%${char.charCodeAt(0).toString(16).toUpperCase()}`
  try {
    return encodeURIComponent(char)
  } catch {
    return '%EF%BF%BD'
  }
}

/** A URL as a Markdown link's destination: spaces, brackets and parentheses percent-encoded. */
function linkTarget (url: string): string {
  return url.replace(/[\s()<>]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
}

// --- Escaping ---------------------------------------------------------------------------------

const ZWJ = '\u200d'

/**
 * Text from a repository as inert Markdown for one table cell (or a heading, or a line): on one
 * line, at most `max` characters before escaping (cut with "…"), with
 * - `&`, `<` and `>` as entities, so no HTML, HTML comment or `-->` gets through;
 * - `\`, `` ` ``, `*`, `_`, `[`, `]`, `~`, `$` and `|` escaped with a backslash, so nothing
 *   formats, links, becomes math or ends the cell;
 * - a zero-width joiner after every `@`, and after `#` or `!` before a digit, so no one is
 *   mentioned (and notified) and no issue, pull or merge request is referenced.
 */
export function markdownCell (text: string, max = CELL_CHARS): string {
  return truncate(oneLine(text), max)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]~$|]/g, '\\$&')
    .replace(/@/g, `@${ZWJ}`)
    .replace(/([#!])(?=\d)/g, `$1${ZWJ}`)
}

/** Control characters, line and paragraph separators and runs of white space as one space. */
function oneLine (text: string): string {
  return text.replace(/[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim()
}

// --- The comment ------------------------------------------------------------------------------

const HEADINGS: Record<BuildRecord['status'], string> = {
  queued: '⏳ Build queued',
  running: '🔨 Build running',
  succeeded: '✅ Build succeeded',
  failed: '❌ Build failed',
  timed_out: '⌛ Build timed out',
  canceled: '🚫 Build canceled'
}

/** The Markdown of the one comment on a pull/merge request, for a build that has ended; starts with commentMarker(context). */
export function pullRequestComment (input: {
  build: BuildRecord
  baseline: Baseline | null
  context: string
  publicUrl: string
  pullRequest: { number: number; headSha: string }
}): string {
  const { build, baseline, publicUrl, pullRequest } = input
  const link = (id: string) => linkTarget(portalLink(publicUrl, id))
  const imageName = build.image ? (build.image.tags[0] ?? build.image.repository) : build.request.image
  const sections = [
    commentMarker(input.context),
    `### ${HEADINGS[build.status]}: ${markdownCell(imageName, 200)} at ${shortSha(pullRequest.headSha)}`
  ]
  if (build.status === 'succeeded' && build.image) {
    sections.push(factTable(succeededFacts(build, build.image, baseline, link)))
    if (baseline?.build.image) sections.push(grownLayers(build.image, baseline))
    sections.push(findingsSection(build.image, baseline))
  } else if (build.status === 'failed' || build.status === 'timed_out') {
    sections.push(factTable(failureFacts(build)))
  } else if (build.status === 'canceled') {
    sections.push(`${markdownCell(canceledLine(build))}; nothing was measured.`)
  } else {
    sections.push('The build has not ended yet.')
  }
  sections.push(`[Build ${markdownCell(build.id)} in the Slipway portal](${link(build.id)})`)
  return capped(sections.join('\n\n') + '\n', link(build.id))
}

/** The facts of a succeeded build, as label and Markdown. */
function succeededFacts (build: BuildRecord, image: Image, baseline: Baseline | null, link: (id: string) => string): [string, string][] {
  const summary = summarizeImage(image)
  const change = comparison(image, baseline)
  const size = change
    ? `${summary.size}, ${formatByteChange(change.bytes)} vs ${markdownCell(baseline!.branch, 100)} ([build …${markdownCell(baseline!.build.id.slice(-6))}](${link(baseline!.build.id)}))`
    : `${summary.size} (no earlier build to compare with)`
  const facts: [string, string | null][] = [
    ['Size', size],
    ['Budget', summary.budget ? `${summary.budget.maxBytes}, ${summary.budget.exceeded ? `exceeded (${summary.budget.mode})` : 'kept'}` : null],
    ['Build time', build.durationMs === null ? null : formatDuration(build.durationMs)],
    ['Cache', build.reusedFrom ? `nothing built: the image of identical build …${markdownCell(build.reusedFrom.slice(-6))} was reused` : nullable(cacheText(build), markdownCell)],
    ['Packages', build.packages ? packagesText(build.packages) : null]
  ]
  return facts.filter((fact): fact is [string, string] => fact[1] !== null)
}

/** Code, message and failing step of a failed or timed-out build. */
function failureFacts (build: BuildRecord): [string, string][] {
  const step = failedStep(build)
  const exitCode = step?.exitCode ?? build.error?.exitCode
  const facts: [string, string | null][] = [
    ['Error', build.error ? `\`${build.error.code}\`${build.error.phase ? ` in ${build.error.phase}` : ''}` : 'unknown'],
    ['Message', build.error ? markdownCell(build.error.message, ERROR_CHARS) : null],
    ['Failing step', step ? `${markdownCell(stepName(step), 120)}${exitCode === undefined ? '' : `, exit ${exitCode}`}` : build.error?.step ? markdownCell(build.error.step, 120) : null],
    ['Build time', build.durationMs === null ? null : formatDuration(build.durationMs)],
    ['Cache', nullable(cacheText(build), markdownCell)]
  ]
  return facts.filter((fact): fact is [string, string] => fact[1] !== null)
}

/** The layers that grew most against the baseline, by Dockerfile line and instruction. */
function grownLayers (image: Image, baseline: Baseline): string {
  const grown = sizeDelta(image, { id: baseline.build.id, image: baseline.build.image! })
    .layers.filter((layer) => layer.deltaBytes > 0)
    .sort((a, b) => b.deltaBytes - a.deltaBytes)
  if (grown.length === 0) return '**Layers that grew most:** none grew.'
  const rows = grown
    .slice(0, LAYER_ROWS)
    .map((layer) => [layer.line === null ? '–' : String(layer.line), markdownCell(layer.instruction, INSTRUCTION_CHARS), formatByteChange(layer.deltaBytes), formatBytes(layer.afterBytes)])
  return `**Layers that grew most**\n\n${table(['Line', 'Instruction', 'Change', 'Now'], rows, ['---:', '---', '---:', '---:'])}`
}

/** The advisor's findings the baseline did not have (all of them without a baseline). */
function findingsSection (image: Image, baseline: Baseline | null): string {
  const compared = baseline?.build.image ?? null
  const title = compared ? 'New advisor findings' : 'Advisor findings'
  const findings = compared ? newFindings(image, compared) : image.findings
  if (findings.length === 0) return `**${title}:** none.`
  const rows = findings
    .slice(0, FINDING_ROWS)
    .map((finding) => [
      `\`${finding.rule}\``,
      finding.lines.length > 0 ? finding.lines.join(', ') : '–',
      finding.bytes === undefined ? '–' : formatBytes(finding.bytes),
      markdownCell(finding.message, FINDING_CHARS)
    ])
  const more = findings.length > FINDING_ROWS ? `\n\n…and ${findings.length - FINDING_ROWS} more in the portal.` : ''
  return `**${title}**\n\n${table(['Rule', 'Line', 'Bytes', 'What to change'], rows, ['---', '---:', '---:', '---'])}${more}`
}

/** Findings of `image` whose rule and stage the earlier image had no finding of. */
function newFindings (image: Image, earlier: Image): Finding[] {
  const key = (finding: Finding) => `${finding.rule}\u0000${finding.stage ?? ''}`
  const known = new Set(earlier.findings.map(key))
  return image.findings.filter((finding) => !known.has(key(finding)))
}

/** The whole image's change against the baseline's; null without a baseline image. */
function comparison (image: Image, baseline: Baseline | null): { bytes: number } | null {
  return baseline?.build.image ? { bytes: image.sizeBytes - baseline.build.image.sizeBytes } : null
}

/** "212 (180 deb, 32 npm)". */
function packagesText (packages: NonNullable<BuildRecord['packages']>): string {
  const parts = Object.entries(packages.byEcosystem)
    .filter(([, count]) => count > 0)
    .map(([ecosystem, count]) => `${count} ${ecosystem}`)
  return `${packages.count}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`
}

/** Label and value pairs as a two-column table, the first pair its header (an empty header row would show as a blank band). */
function factTable (facts: [string, string][]): string {
  const [first, ...rest] = facts
  return first ? table(first, rest, ['---', '---']) : ''
}

function table (header: string[], rows: string[][], align: string[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(align), ...rows.map(line)].join('\n')
}

// --- Shared pieces ----------------------------------------------------------------------------

/** The step that failed, when the builder said which. */
function failedStep (build: BuildRecord): Step | undefined {
  return build.steps.find((step) => step.status === 'failed')
}

/** "line 4 RUN make", white space collapsed and long instructions cut. */
function stepName (step: Step): string {
  return `${step.line === undefined ? '' : `line ${step.line} `}${truncate(oneLine(step.instruction), INSTRUCTION_CHARS)}`
}

/** A commit's first 7 hex digits; anything that is not a commit is escaped. */
function shortSha (sha: string): string {
  return /^[0-9a-f]{7,64}$/i.test(sha) ? sha.slice(0, 7).toLowerCase() : markdownCell(sha, 40)
}

/** A comment that would be too long is cut at a line, and ends with the link. */
function capped (markdown: string, link: string): string {
  if (markdown.length <= COMMENT_MAX) return markdown
  const tail = `\n\n…cut; the whole report is at ${link}\n`
  const kept = markdown.slice(0, COMMENT_MAX - tail.length)
  return kept.slice(0, Math.max(0, kept.lastIndexOf('\n'))) + tail
}

function plural (count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

function nullable<T, U> (value: T | null, map: (value: T) => U): U | null {
  return value === null ? null : map(value)
}
