import { attestationName, cacheText, summaryEntries, summarizeImage, unsignedReason } from '../build-summary.js'
import { formatDuration, formatUpload } from '../format.js'
import type { Build, Image } from '../schemas/build.js'
import type { BuildEventType, WebhookFormat } from './event-types.js'

// The body of a delivery, per receiver. `json` is the Standard Webhooks envelope with the whole
// build; the chat formats are a message each platform's incoming webhook renders as is, so a
// Slack, Discord, Teams or Google Chat channel can subscribe without a relay in between.
//
// Text taken from the build (the repository URL, the ref, the error message) is written by
// whoever requested the build, so it is kept from becoming markup where a platform would
// interpret it: escaped for Slack mrkdwn and Google Chat's HTML subset, kept out of markdown
// altogether in Teams (TextRun), and kept from pinging anyone in Discord. It is also cut to each
// platform's limits: a message over one is refused outright, not shortened.

export interface BuildEvent {
  type: BuildEventType
  /** When the event happened (ISO 8601), not when it is delivered. */
  timestamp: string
  /** Orders one build's events, since deliveries may arrive out of order. */
  sequence: number
  build: Build
}

/** The JSON body to POST for `event` to a receiver of `format`. */
export function formatPayload (format: WebhookFormat, event: BuildEvent, publicUrl: string): unknown {
  switch (format) {
    case 'json':
      return { type: event.type, timestamp: event.timestamp, sequence: event.sequence, data: event.build }
    case 'slack':
      return slackMessage(summarize(event, publicUrl))
    case 'discord':
      return discordMessage(summarize(event, publicUrl), event.timestamp)
    case 'teams':
      return teamsMessage(summarize(event, publicUrl))
    case 'googlechat':
      return googleChatMessage(summarize(event, publicUrl), event)
  }
}

// --- What every chat message shows ------------------------------------------------------------

type Tone = 'good' | 'bad' | 'neutral' | 'info'
interface Status {
  emoji: string
  title: string
  tone: Tone
}

const STATUS: Record<BuildEventType, Status> = {
  'build.queued': { emoji: '⏳', title: 'Build queued', tone: 'info' },
  'build.started': { emoji: '🔨', title: 'Build started', tone: 'info' },
  'build.succeeded': { emoji: '✅', title: 'Build succeeded', tone: 'good' },
  'build.failed': { emoji: '❌', title: 'Build failed', tone: 'bad' },
  'build.canceled': { emoji: '🚫', title: 'Build canceled', tone: 'neutral' },
  'build.timed_out': { emoji: '⌛', title: 'Build timed out', tone: 'bad' }
}

/** Green, red, grey and blue, from Slack's own palette (readable on light and dark themes). */
const COLORS: Record<Tone, string> = { good: '#2EB67D', bad: '#E01E5A', neutral: '#9B9B9B', info: '#1D9BD1' }

interface Summary {
  status: Status
  color: string
  link: string
  buildId: string
  /** The repository, or for an upload what was uploaded. */
  repo: string
  ref: string | null
  commit: string | null
  duration: string | null
  image: string | null
  size: string | null
  /** The largest layer and the advisor's first finding, as the log, the CLI and the portal word them. */
  layers: string | null
  advice: string | null
  /** How much came from the layer cache and the first step that did not, and why: "5 of 9 steps (56%); line 4 COPY . /app rebuilt: …". */
  cache: string | null
  /** Of a pushed image: "Signed · 3 attestations (provenance, SPDX, CycloneDX)", or "Not signed: " and why. */
  signing: string | null
  warning: string | null
  error: { code: string; message: string } | null
}

function summarize (event: BuildEvent, publicUrl: string): Summary {
  const { build } = event
  const status = STATUS[event.type]
  const defaultBranch = build.resolvedRef ? `${shortRef(build.resolvedRef)} (default branch)` : 'default branch'
  return {
    status,
    color: COLORS[status.tone],
    link: buildLink(publicUrl, build.id),
    buildId: build.id,
    repo: build.request.repo ?? formatUpload(build.request.source),
    // An upload has no ref.
    ref: build.request.source ? null : (build.request.ref ?? defaultBranch),
    commit: build.commit ? build.commit.slice(0, 12) : null,
    duration: build.durationMs === null ? null : formatDuration(build.durationMs),
    image: build.image ? (build.image.tags[0] ?? build.image.repository) : null,
    size: build.image ? sizeText(build.image) : null,
    layers: build.image ? summaryText(build, build.image, 'layers') : null,
    advice: build.image ? summaryText(build, build.image, 'advisor') : null,
    cache: cacheText(build),
    signing: event.type === 'build.succeeded' && build.image?.pushed ? signingText(build) : null,
    warning: build.warnings.length > 0 ? build.warnings.join(' ') : null,
    error: build.error ? { code: build.error.code, message: build.error.message } : null
  }
}

/**
 * "176 MB (+2.1 MB since build …2A3B4C, budget 200 MB exceeded)": the size, its change and its
 * budget in one field, from the same summary as the log's and the CLI's lines.
 */
function sizeText (image: Image): string {
  const summary = summarizeImage(image)
  const notes: string[] = []
  if (summary.change) notes.push(`${summary.change.bytes} since build …${summary.change.comparedWith.slice(-6)}`)
  if (summary.budget) notes.push(`budget ${summary.budget.maxBytes}${summary.budget.exceeded ? ' exceeded' : ''}`)
  return `${summary.size}${notes.length ? ` (${notes.join(', ')})` : ''}`
}

/** Null when the build cannot tell whether it is signed (one with variants); the JSON format carries the references. */
function signingText (build: Build): string | null {
  const reason = unsignedReason(build)
  const signed = build.signature ? 'Signed' : reason ? `Not signed: ${reason}` : null
  const attestations = build.attestations ?? []
  if (signed === null || attestations.length === 0) return signed
  const names = attestations.map((attestation) => attestationName(attestation.predicateType)).join(', ')
  return `${signed} · ${attestations.length === 1 ? '1 attestation' : `${attestations.length} attestations`} (${names})`
}

/** One line of the build summary (../build-summary.js), or null when the image has nothing to say there; the build's base images and steps name its layers. */
function summaryText (build: Pick<Build, 'baseImages' | 'steps'>, image: Image, label: 'layers' | 'advisor'): string | null {
  return summaryEntries(image, build).find((entry) => entry[0] === label)?.[1] ?? null
}

/** The build's resource, where the people reading the message can follow it. */
export function buildLink (publicUrl: string, buildId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/v1/builds/${encodeURIComponent(buildId)}`
}

/** The label/value pairs of a summary, in display order, without the ones that are unknown. */
function facts (summary: Summary): [label: string, value: string][] {
  const all: [string, string | null][] = [
    ['Repository', summary.repo],
    ['Ref', summary.ref],
    ['Commit', summary.commit],
    ['Duration', summary.duration],
    ['Image', summary.image],
    ['Size', summary.size],
    ['Signature', summary.signing],
    ['Layers', summary.layers],
    ['Advisor', summary.advice],
    ['Cache', summary.cache],
    ['Warning', summary.warning]
  ]
  return all.filter((fact): fact is [string, string] => fact[1] !== null && fact[1] !== '')
}

function shortRef (ref: string): string {
  return ref.replace(/^refs\/(?:heads|tags)\//, '')
}

// --- Cutting and escaping ---------------------------------------------------------------------

const ELLIPSIS = '…'

/**
 * `text` in at most `max` UTF-16 code units (what JavaScript counts; never fewer than what the
 * platforms count), ending in "…" when cut, and never cut inside a surrogate pair.
 */
export function truncate (text: string, max: number): string {
  if (text.length <= max) return text
  let cut = Math.max(0, max - ELLIPSIS.length)
  const last = text.charCodeAt(cut - 1)
  if (cut > 0 && last >= 0xd800 && last <= 0xdbff) cut -= 1
  return text.slice(0, cut) + ELLIPSIS
}

/** `text` escaped, and cut before escaping so that the escaped text fits in `max` and no entity is split. */
function escapeWithin (text: string, max: number, escape: (text: string) => string): string {
  const whole = escape(text)
  if (whole.length <= max) return whole
  let kept = ''
  for (const char of text) {
    const piece = escape(char)
    if (kept.length + piece.length + ELLIPSIS.length > max) break
    kept += piece
  }
  return kept + ELLIPSIS
}

/** Slack's mrkdwn: only &, < and > are control characters (links, mentions, entities). */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
/** Google Chat cards take a subset of HTML. */
const htmlEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
/** A "```" inside a code block would end it; zero-width spaces keep it visible but inert. */
const unfence = (text: string) => text.replace(/```/g, '`\u200b`\u200b`')
/**
 * Discord: "@everyone", "@here" and "<@id>", "<@&role>", "<#channel>" lose their meaning with a
 * zero-width space after the "@" or "<". allowed_mentions already stops pings; this also stops
 * them rendering as mentions.
 */
const discordDefuse = (text: string) => text.replace(/@(everyone|here)/gi, '@\u200b$1').replace(/<(?=[@#])/g, '<\u200b')

// --- Slack ------------------------------------------------------------------------------------

// Block Kit: a section's text ≤ 3000 characters, a field's ≤ 2000, ≤ 10 fields per section.
const SLACK_TEXT_MAX = 3000
const SLACK_FIELD_MAX = 2000
const SLACK_SECTION_FIELDS = 10

/**
 * An incoming-webhook message: `text` (the message line, and the notification) above a legacy
 * attachment, the only way Slack still offers a colour bar, holding Block Kit blocks.
 */
function slackMessage (summary: Summary): unknown {
  const { status } = summary
  const link = slackEscape(summary.link.replace(/\|/g, '%7C'))
  const text = `${status.emoji} <${link}|${status.title}>: ${escapeWithin(summary.repo, 500, slackEscape)}`
  const fields = facts(summary).map(([label, value]) => ({
    type: 'mrkdwn',
    text: `*${label}*\n${escapeWithin(value, SLACK_FIELD_MAX - label.length - 3, slackEscape)}`
  }))
  // A section holds at most 10 fields, fewer than a build with every fact has: the rest go in the next.
  const blocks: unknown[] = []
  for (let first = 0; first < fields.length; first += SLACK_SECTION_FIELDS) blocks.push({ type: 'section', fields: fields.slice(first, first + SLACK_SECTION_FIELDS) })
  if (summary.error) {
    const head = `*Error* \`${escapeWithin(summary.error.code, 100, slackEscape)}\`\n\`\`\`\n`
    const tail = '\n```'
    const message = escapeWithin(unfence(summary.error.message), SLACK_TEXT_MAX - head.length - tail.length, slackEscape)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: head + message + tail } })
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `Slipway build <${link}|${slackEscape(summary.buildId)}>` }]
  })
  return { text, attachments: [{ color: summary.color, fallback: text, blocks }] }
}

// --- Discord ----------------------------------------------------------------------------------

// Discord's embed limits; the whole embed must stay within 6000 characters too, which the
// smaller budgets for the description and the long fields keep it inside.
export const DISCORD_LIMITS = {
  content: 2000,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  total: 6000
} as const
const DISCORD_ERROR_MAX = 2000
const DISCORD_LONG_FIELD_MAX = 600

const DISCORD_CACHE_FIELD_MAX = 300

/** Long values get room, the rest 100 characters; the cache line (an instruction already cut to 60, and a one-line reason) in between. */
function discordFieldMax (name: string): number {
  if (name === 'Cache') return DISCORD_CACHE_FIELD_MAX
  return ['Repository', 'Image', 'Ref', 'Layers', 'Advisor', 'Warning'].includes(name) ? DISCORD_LONG_FIELD_MAX : 100
}

/** An execute-webhook body: a line of content and one embed, with every mention disabled. */
function discordMessage (summary: Summary, timestamp: string): unknown {
  const { status } = summary
  const fields = facts(summary).map(([name, value]) => ({
    name,
    value: truncate(discordDefuse(value), discordFieldMax(name)),
    inline: name !== 'Repository'
  }))
  const embed: Record<string, unknown> = {
    title: truncate(`${status.emoji} ${status.title}`, DISCORD_LIMITS.title),
    url: summary.link,
    color: Number.parseInt(summary.color.slice(1), 16),
    fields: fields.slice(0, DISCORD_LIMITS.fields),
    footer: { text: truncate(`Slipway build ${summary.buildId}`, 200) },
    timestamp
  }
  if (summary.error) {
    const head = `**${truncate(discordDefuse(summary.error.code), 100)}**\n\`\`\`\n`
    const tail = '\n```'
    embed.description = head + truncate(discordDefuse(unfence(summary.error.message)), DISCORD_ERROR_MAX - head.length - tail.length) + tail
  }
  return {
    content: truncate(`${status.emoji} **${status.title}**: ${discordDefuse(summary.repo)}`, 500),
    embeds: [embed],
    allowed_mentions: { parse: [] }
  }
}

// --- Microsoft Teams --------------------------------------------------------------------------

// Teams refuses messages over about 28 KB; these keep a card well inside that.
const TEAMS_VALUE_MAX = 1000
const TEAMS_ERROR_MAX = 3000

const TEAMS_STYLE: Record<Tone, { container: string; text: string }> = {
  good: { container: 'good', text: 'good' },
  bad: { container: 'attention', text: 'attention' },
  neutral: { container: 'emphasis', text: 'default' },
  info: { container: 'accent', text: 'accent' }
}

/**
 * An incoming-webhook (or Workflows) message carrying an Adaptive Card. TextBlocks and facts
 * render markdown, so text from the build goes into TextRuns of RichTextBlocks, which do not.
 */
function teamsMessage (summary: Summary): unknown {
  const { status } = summary
  const style = TEAMS_STYLE[status.tone]
  const plain = (text: string, extra: Record<string, unknown> = {}) => ({
    type: 'RichTextBlock',
    inlines: [{ type: 'TextRun', text, ...extra }]
  })
  // One two-column row per fact; equal weights on every row keep the columns aligned.
  const row = (label: string, value: Record<string, unknown>) => ({
    type: 'ColumnSet',
    spacing: 'small',
    columns: [
      { type: 'Column', width: 1, items: [{ type: 'TextBlock', text: label, weight: 'bolder', wrap: true }] },
      { type: 'Column', width: 3, items: [value] }
    ]
  })
  const body: unknown[] = [
    {
      type: 'Container',
      style: style.container,
      bleed: true,
      items: [{ type: 'TextBlock', text: `${status.emoji} ${status.title}`, weight: 'bolder', size: 'medium', color: style.text, wrap: true }]
    },
    ...facts(summary).map(([label, value]) => row(label, plain(truncate(value, TEAMS_VALUE_MAX))))
  ]
  if (summary.error) {
    body.push(row('Error', plain(truncate(summary.error.code, 100), { weight: 'bolder', color: 'attention' })))
    body.push(plain(truncate(summary.error.message, TEAMS_ERROR_MAX), { fontType: 'monospace' }))
  }
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          actions: [{ type: 'Action.OpenUrl', title: 'View build', url: summary.link }]
        }
      }
    ]
  }
}

// --- Google Chat ------------------------------------------------------------------------------

const GOOGLE_VALUE_MAX = 1000
const GOOGLE_ERROR_MAX = 3000

/**
 * An incoming-webhook message: a text line and a cardsV2 card. The text line holds nothing from
 * the build (Chat's text syntax has mentions such as <users/all> and no documented escape); the
 * card's widgets take an HTML subset, so build text is HTML-escaped there.
 */
function googleChatMessage (summary: Summary, event: BuildEvent): unknown {
  const { status } = summary
  const link = summary.link.replace(/\|/g, '%7C').replace(/>/g, '%3E')
  const label = (topLabel: string, text: string) => ({ decoratedText: { topLabel, text, wrapText: true } })
  const widgets: unknown[] = [
    label('Status', `<font color="${summary.color}"><b>${htmlEscape(status.title.replace(/^Build /, ''))}</b></font>`),
    ...facts(summary).map(([name, value]) => label(name, escapeWithin(value, GOOGLE_VALUE_MAX, htmlEscape)))
  ]
  if (summary.error) {
    widgets.push(label('Error', `<font color="${COLORS.bad}"><b>${escapeWithin(summary.error.code, 100, htmlEscape)}</b></font>`))
    widgets.push({ textParagraph: { text: escapeWithin(summary.error.message, GOOGLE_ERROR_MAX, htmlEscape) } })
  }
  widgets.push({ buttonList: { buttons: [{ text: 'View build', onClick: { openLink: { url: summary.link } } }] } })
  return {
    text: `${status.emoji} ${status.title}: <${link}|build ${summary.buildId}>`,
    cardsV2: [
      {
        cardId: `slipway-${summary.buildId}-${event.sequence}`,
        card: {
          header: { title: `${status.emoji} ${status.title}`, subtitle: `Slipway build ${summary.buildId}` },
          sections: [{ widgets }]
        }
      }
    ]
  }
}
