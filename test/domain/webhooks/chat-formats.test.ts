import t from 'tap'
import type { Build } from '../../../src/domain/schemas/build.js'
import {
  DISCORD_LIMITS,
  buildLink,
  formatPayload,
  truncate,
  type BuildEvent
} from '../../../src/domain/webhooks/chat-formats.js'
import { BUILD_EVENT_TYPES, WEBHOOK_FORMATS, type BuildEventType } from '../../../src/domain/webhooks/event-types.js'
import { defaultRequest, sampleBuild } from '../../helpers/fixtures.js'

const PUBLIC_URL = 'https://slipway.example.com/'
const ID = '01JD3K8Q4S6T7V8W9X0Y1Z2A3B'
const LINK = `https://slipway.example.com/v1/builds/${ID}`
const COMMIT = '3f2a9c1d4e5f60718293a4b5c6d7e8f901234567'
const TIMESTAMP = '2026-01-02T03:04:05.678Z'

function build (overrides: Partial<Build> = {}): Build {
  return sampleBuild(ID, overrides)
}

const finished = {
  commit: COMMIT,
  resolvedRef: 'refs/heads/main',
  startedAt: '2026-01-02T03:00:01.000Z',
  finishedAt: '2026-01-02T03:01:13.400Z',
  durationMs: 72_400,
  attempts: 1,
  builder: 'buildkit' as const
}
const succeeded = build({
  ...finished,
  status: 'succeeded',
  request: { ...defaultRequest('https://github.com/acme/app.git', 'registry.example.com/acme/app'), ref: 'main', push: true, sign: true },
  image: {
    id: 'sha256:' + 'a'.repeat(64),
    repository: 'registry.example.com/acme/app',
    tags: ['registry.example.com/acme/app:3f2a9c1d4e5f', 'registry.example.com/acme/app:latest'],
    pushed: true,
    digest: 'sha256:' + 'b'.repeat(64),
    sizeBytes: 176_000_000,
    layers: [],
    baseBytes: 120_000_000,
    addedBytes: 56_000_000,
    sizeDelta: null,
    findings: [],
    budget: null
  },
  signature: { keyId: 'sha256:' + 'c'.repeat(64), reference: 'registry.example.com/acme/app@sha256:' + 'd'.repeat(64) },
  attestations: ['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document', 'https://cyclonedx.org/bom'].map((predicateType, index) => ({
    predicateType,
    digest: 'sha256:' + String(index).repeat(64),
    reference: `registry.example.com/acme/app@sha256:${'e'.repeat(63)}${index}`,
    signed: true
  }))
})
const SIGNED = 'Signed · 3 attestations (provenance, SPDX, CycloneDX)'
const failed = build({
  ...finished,
  status: 'failed',
  durationMs: 12_000,
  error: { code: 'BUILD_STEP_FAILED', message: 'RUN npm ci exited with code 1: npm ERR! missing script', phase: 'build', exitCode: 1 }
})
const queued = build()

const event = (type: BuildEventType, b: Build, sequence = 3): BuildEvent => ({ type, timestamp: TIMESTAMP, sequence, build: b })
const SUCCEEDED = event('build.succeeded', succeeded)
const FAILED = event('build.failed', failed)
const QUEUED = event('build.queued', queued, 1)

type Json = Record<string, any>
const payload = (format: (typeof WEBHOOK_FORMATS)[number], e: BuildEvent, publicUrl = PUBLIC_URL) =>
  JSON.parse(JSON.stringify(formatPayload(format, e, publicUrl))) as Json

/** Every string in a payload, keys excluded. */
function strings (value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(strings)
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings)
  return []
}
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

t.test('json: the Standard Webhooks envelope with the whole build', async (t) => {
  for (const e of [SUCCEEDED, FAILED, QUEUED]) {
    t.strictSame(payload('json', e), { type: e.type, timestamp: TIMESTAMP, sequence: e.sequence, data: JSON.parse(JSON.stringify(e.build)) }, e.type)
  }
})

t.test('slack: text above a coloured attachment of Block Kit blocks', async (t) => {
  const s = payload('slack', SUCCEEDED)
  t.type(s.text, 'string')
  t.equal(s.text, `✅ <${LINK}|Build succeeded>: https://github.com/acme/app.git`, 'status, link and repository in the message line')
  t.equal(s.attachments.length, 1)
  const attachment = s.attachments[0]
  t.equal(attachment.color, '#2EB67D', 'green')
  t.equal(attachment.fallback, s.text)
  const [fields, context] = attachment.blocks
  t.equal(fields.type, 'section')
  t.same(
    fields.fields.map((field: Json) => field.text),
    [
      '*Repository*\nhttps://github.com/acme/app.git',
      '*Ref*\nmain',
      '*Commit*\n3f2a9c1d4e5f',
      '*Duration*\n1 min 12 s',
      '*Image*\nregistry.example.com/acme/app:3f2a9c1d4e5f',
      '*Size*\n176 MB',
      `*Signature*\n${SIGNED}`
    ]
  )
  for (const field of fields.fields) t.equal(field.type, 'mrkdwn')
  t.same(context, { type: 'context', elements: [{ type: 'mrkdwn', text: `Slipway build <${LINK}|${ID}>` }] })
  t.equal(attachment.blocks.length, 2, 'no error block')

  const f = payload('slack', FAILED)
  t.equal(f.attachments[0].color, '#E01E5A', 'red')
  t.match(f.text, /^❌ <[^|]+\|Build failed>/)
  const error = f.attachments[0].blocks.find((block: Json) => block.text?.text?.startsWith('*Error*'))
  t.equal(error.text.text, '*Error* `BUILD_STEP_FAILED`\n```\nRUN npm ci exited with code 1: npm ERR! missing script\n```')
  t.match(f.attachments[0].blocks[0].fields.map((field: Json) => field.text), ['*Repository*\nhttps://github.com/acme/app.git', '*Ref*\nmain (default branch)', '*Commit*\n3f2a9c1d4e5f', '*Duration*\n12 s'])

  const q = payload('slack', QUEUED)
  t.equal(q.attachments[0].color, '#1D9BD1', 'blue')
  t.match(q.text, /^⏳ <[^|]+\|Build queued>/)
  t.same(q.attachments[0].blocks[0].fields.map((field: Json) => field.text), ['*Repository*\nhttps://github.com/acme/app.git', '*Ref*\ndefault branch'])
})

t.test('discord: content, one embed, no mentions', async (t) => {
  const s = payload('discord', SUCCEEDED)
  t.equal(s.content, '✅ **Build succeeded**: https://github.com/acme/app.git')
  t.same(s.allowed_mentions, { parse: [] })
  t.equal(s.embeds.length, 1)
  const embed = s.embeds[0]
  t.equal(embed.title, '✅ Build succeeded')
  t.equal(embed.url, LINK)
  t.equal(embed.color, 0x2eb67d, 'green, as an integer')
  t.equal(embed.timestamp, TIMESTAMP)
  t.equal(embed.footer.text, `Slipway build ${ID}`)
  t.same(embed.fields, [
    { name: 'Repository', value: 'https://github.com/acme/app.git', inline: false },
    { name: 'Ref', value: 'main', inline: true },
    { name: 'Commit', value: '3f2a9c1d4e5f', inline: true },
    { name: 'Duration', value: '1 min 12 s', inline: true },
    { name: 'Image', value: 'registry.example.com/acme/app:3f2a9c1d4e5f', inline: true },
    { name: 'Size', value: '176 MB', inline: true },
    { name: 'Signature', value: SIGNED, inline: true }
  ])
  t.notOk('description' in embed, 'no description without an error')

  const f = payload('discord', FAILED).embeds[0]
  t.equal(f.title, '❌ Build failed')
  t.equal(f.color, 0xe01e5a, 'red')
  t.equal(f.description, '**BUILD_STEP_FAILED**\n```\nRUN npm ci exited with code 1: npm ERR! missing script\n```')

  const q = payload('discord', QUEUED).embeds[0]
  t.equal(q.title, '⏳ Build queued')
  t.equal(q.color, 0x1d9bd1, 'blue')
  t.same(q.fields.map((field: Json) => field.name), ['Repository', 'Ref'])
  t.equal(q.fields[1].value, 'default branch')
})

/** The Adaptive Card in a Teams message. */
const card = (message: Json) => message.attachments[0].content
/** Label → the value's text, from the card's fact rows. */
function teamsFacts (message: Json): Record<string, string> {
  const facts: Record<string, string> = {}
  for (const block of card(message).body) {
    if (block.type !== 'ColumnSet') continue
    facts[block.columns[0].items[0].text] = block.columns[1].items[0].inlines[0].text
  }
  return facts
}

t.test('teams: an Adaptive Card message', async (t) => {
  const s = payload('teams', SUCCEEDED)
  t.equal(s.type, 'message')
  t.equal(s.attachments.length, 1)
  t.equal(s.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive')
  const content = card(s)
  t.equal(content.$schema, 'http://adaptivecards.io/schemas/adaptive-card.json')
  t.equal(content.type, 'AdaptiveCard')
  t.equal(content.version, '1.4')
  t.same(content.actions, [{ type: 'Action.OpenUrl', title: 'View build', url: LINK }])
  const [header] = content.body
  t.match(header, { type: 'Container', style: 'good', items: [{ type: 'TextBlock', text: '✅ Build succeeded', color: 'good', weight: 'bolder' }] })
  t.same(teamsFacts(s), {
    Repository: 'https://github.com/acme/app.git',
    Ref: 'main',
    Commit: '3f2a9c1d4e5f',
    Duration: '1 min 12 s',
    Image: 'registry.example.com/acme/app:3f2a9c1d4e5f',
    Size: '176 MB',
    Signature: SIGNED
  })

  const f = payload('teams', FAILED)
  t.match(card(f).body[0], { style: 'attention', items: [{ text: '❌ Build failed', color: 'attention' }] })
  t.equal(teamsFacts(f).Error, 'BUILD_STEP_FAILED')
  const message = card(f).body.at(-1)
  t.match(message, { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: 'RUN npm ci exited with code 1: npm ERR! missing script', fontType: 'monospace' }] })

  const q = payload('teams', QUEUED)
  t.match(card(q).body[0], { style: 'accent', items: [{ text: '⏳ Build queued', color: 'accent' }] })
  t.same(teamsFacts(q), { Repository: 'https://github.com/acme/app.git', Ref: 'default branch' })
})

/** Google Chat decoratedText widgets, topLabel → text. */
function googleFacts (message: Json): Record<string, string> {
  const facts: Record<string, string> = {}
  for (const widget of message.cardsV2[0].card.sections[0].widgets) {
    if (widget.decoratedText) facts[widget.decoratedText.topLabel] = widget.decoratedText.text
  }
  return facts
}

t.test('googlechat: a text line and a cardsV2 card', async (t) => {
  const s = payload('googlechat', SUCCEEDED)
  t.equal(s.text, `✅ Build succeeded: <${LINK}|build ${ID}>`)
  t.equal(s.cardsV2.length, 1)
  const { cardId, card: c } = s.cardsV2[0]
  t.equal(cardId, `slipway-${ID}-3`)
  t.same(c.header, { title: '✅ Build succeeded', subtitle: `Slipway build ${ID}` })
  t.equal(c.sections.length, 1)
  t.same(googleFacts(s), {
    Status: '<font color="#2EB67D"><b>succeeded</b></font>',
    Repository: 'https://github.com/acme/app.git',
    Ref: 'main',
    Commit: '3f2a9c1d4e5f',
    Duration: '1 min 12 s',
    Image: 'registry.example.com/acme/app:3f2a9c1d4e5f',
    Size: '176 MB',
    Signature: SIGNED
  })
  t.same(c.sections[0].widgets.at(-1), { buttonList: { buttons: [{ text: 'View build', onClick: { openLink: { url: LINK } } }] } })

  const f = payload('googlechat', FAILED)
  t.match(f.text, /^❌ Build failed: /)
  t.equal(googleFacts(f).Status, '<font color="#E01E5A"><b>failed</b></font>')
  t.equal(googleFacts(f).Error, '<font color="#E01E5A"><b>BUILD_STEP_FAILED</b></font>')
  t.ok(f.cardsV2[0].card.sections[0].widgets.some((w: Json) => w.textParagraph?.text === 'RUN npm ci exited with code 1: npm ERR! missing script'))

  const q = payload('googlechat', QUEUED)
  t.equal(q.cardsV2[0].cardId, `slipway-${ID}-1`)
  t.same(googleFacts(q), { Status: '<font color="#1D9BD1"><b>queued</b></font>', Repository: 'https://github.com/acme/app.git', Ref: 'default branch' })
})

t.test('the layer cache: one Cache field in every chat format, the first miss with its reason; json has it in data.cache', async (t) => {
  const cached = event('build.succeeded', build({
    ...succeeded,
    cache: {
      comparedWith: '01JD3K8Q4S6T7V8W9X0Y1Z2A3A',
      steps: 9,
      cached: 5,
      hitRate: 5 / 9,
      firstMiss: { step: 6, instruction: 'COPY . /app', line: 4, reason: 'files-changed', summary: 'src/app.py changed', followers: 3 }
    }
  }))
  const line = '5 of 9 steps (56%); line 4 COPY . /app rebuilt: src/app.py changed; 3 steps after it followed'
  t.equal(payload('slack', cached).attachments[0].blocks[0].fields.at(-1).text, `*Cache*\n${line}`)
  t.same(payload('discord', cached).embeds[0].fields.at(-1), { name: 'Cache', value: line, inline: true })
  t.equal(teamsFacts(payload('teams', cached)).Cache, line)
  t.equal(googleFacts(payload('googlechat', cached)).Cache, line)
  t.same(payload('json', cached).data.cache, cached.build.cache, 'json: the whole summary, in the build')

  const all = event('build.succeeded', build({ ...succeeded, cache: { comparedWith: 'X', steps: 3, cached: 3, hitRate: 1, firstMiss: null } }))
  t.equal(teamsFacts(payload('teams', all)).Cache, '3 of 3 steps (100%); every step came from the cache')
  t.notOk('Cache' in teamsFacts(payload('teams', SUCCEEDED)), 'no cache summary, no field')

  const hostile = event('build.succeeded', build({ ...succeeded, cache: { ...cached.build.cache!, firstMiss: { ...cached.build.cache!.firstMiss!, summary: '<@&1> @everyone <b>x</b> '.repeat(40) } } }))
  t.ok(payload('discord', hostile).embeds[0].fields.at(-1).value.length <= 300, 'discord: a long reason is cut')
  t.notMatch(payload('discord', hostile).embeds[0].fields.at(-1).value, /@everyone|<@&/, 'and mentions are defused')
  t.notMatch(googleFacts(payload('googlechat', hostile)).Cache, /<b>x/, 'google chat: escaped')
})

t.test('the Layers field names the base image and the Dockerfile line, as the log and the CLI do', async (t) => {
  const layered = (layers: NonNullable<typeof succeeded.image>['layers']) =>
    event('build.succeeded', build({
      ...succeeded,
      baseImages: [{ name: 'debian:bookworm-slim', digest: null, imageId: 'sha256:1' }],
      steps: [{ stage: 'stage-0', instruction: 'COPY app.py /app/', status: 'succeeded', cached: false, startedAt: null, durationMs: null, line: 4 }],
      image: { ...succeeded.image!, layers }
    }))
  const base = layered([{ instruction: 'Imported from -', sizeBytes: 116_700_000, createdAt: null, line: null, stage: null, fromBase: true }])
  t.equal(teamsFacts(payload('teams', base)).Layers, '1; the largest: 117 MB from debian:bookworm-slim (base image)')
  const copied = layered([{ instruction: 'COPY file:73e2b1c0d4e5 in /app/', sizeBytes: 200_000_000, createdAt: null, line: 4, stage: 'stage-0', fromBase: false }])
  t.equal(googleFacts(payload('googlechat', copied)).Layers, '1; the largest: 200 MB from line 4 COPY app.py /app/')
})

t.test('the signature: of a succeeded pushed build, signed or why not, with its attestations; json has the references in data', async (t) => {
  const signature = (b: Build, type: BuildEventType = 'build.succeeded') => teamsFacts(payload('teams', event(type, b))).Signature
  const unsigned = { ...succeeded, signature: null, attestations: succeeded.attestations!.map((attestation) => ({ ...attestation, signed: false })) }
  const attested = { ...unsigned, phases: [{ name: 'attest' as const, status: 'succeeded' as const, startedAt: finished.finishedAt, finishedAt: finished.finishedAt, durationMs: 300 }] }
  t.equal(signature(attested), 'Not signed: the server has no signing key · 3 attestations (provenance, SPDX, CycloneDX)')
  t.equal(signature({ ...attested, request: { ...attested.request, sign: false }, attestations: null }), 'Not signed: the build asked for none (sign: false)')
  t.equal(signature({ ...attested, attestations: null }), 'Not signed: nothing could be attached to the image (see the warnings)')
  t.equal(signature({ ...succeeded, attestations: succeeded.attestations!.slice(0, 1) }), 'Signed · 1 attestation (provenance)')
  t.equal(signature({ ...succeeded, attestations: [] }), 'Signed')
  t.equal(signature(unsigned), undefined, 'a build that cannot tell (no attest phase) says nothing')
  t.equal(signature({ ...succeeded, image: { ...succeeded.image!, pushed: false } }), undefined, 'nor one whose image was not pushed')
  t.equal(signature(succeeded, 'build.started'), undefined, 'nor one that has not succeeded')
  t.same(payload('json', SUCCEEDED).data.attestations.map((attestation: Json) => attestation.reference), succeeded.attestations!.map((attestation) => attestation.reference))

  // Slack takes 10 fields a section: the 11th of a build with every fact opens a second one.
  const everything = build({
    ...succeeded,
    image: {
      ...succeeded.image!,
      findings: [{ rule: 'no-dockerignore', lines: [], stage: null, message: 'Add a .dockerignore.' }],
      layers: [{ instruction: 'COPY . .', sizeBytes: 10, createdAt: null, line: 2, stage: null, fromBase: false }]
    },
    cache: { comparedWith: null, steps: 1, cached: 1, hitRate: 1, firstMiss: null },
    warnings: ['over budget']
  })
  const [first, second] = payload('slack', event('build.succeeded', everything)).attachments[0].blocks
  t.equal(first.fields.length, 10)
  t.same(second, { type: 'section', fields: [{ type: 'mrkdwn', text: '*Warning*\nover budget' }] })
})

t.test('every event in every format: link, status text, colour', async (t) => {
  const titles: Record<BuildEventType, string> = {
    'build.queued': 'Build queued',
    'build.started': 'Build started',
    'build.succeeded': 'Build succeeded',
    'build.failed': 'Build failed',
    'build.canceled': 'Build canceled',
    'build.timed_out': 'Build timed out'
  }
  const colors: Record<BuildEventType, string> = {
    'build.queued': '#1D9BD1',
    'build.started': '#1D9BD1',
    'build.succeeded': '#2EB67D',
    'build.failed': '#E01E5A',
    'build.canceled': '#9B9B9B',
    'build.timed_out': '#E01E5A'
  }
  for (const type of BUILD_EVENT_TYPES) {
    const e = event(type, type === 'build.succeeded' ? succeeded : type === 'build.queued' ? queued : failed)
    for (const format of WEBHOOK_FORMATS) {
      const body = payload(format, e)
      const all = strings(body)
      if (format !== 'json') {
        t.ok(all.some((text) => text.includes(LINK)), `${format} ${type}: links the build`)
        t.ok(all.some((text) => text.includes(titles[type])), `${format} ${type}: says "${titles[type]}"`)
      }
      t.notOk(all.some((text) => LONE_SURROGATE.test(text)), `${format} ${type}: well-formed text`)
    }
    t.equal(payload('slack', e).attachments[0].color, colors[type], `slack colour for ${type}`)
    t.equal(payload('discord', e).embeds[0].color, Number.parseInt(colors[type].slice(1), 16), `discord colour for ${type}`)
  }
  t.equal(card(payload('teams', event('build.canceled', failed))).body[0].style, 'emphasis', 'teams: grey for canceled')
  t.equal(card(payload('teams', event('build.timed_out', failed))).body[0].style, 'attention', 'teams: red for timed_out')
})

t.test('the link: trailing slashes of the public URL are dropped', async (t) => {
  for (const publicUrl of ['https://slipway.example.com', 'https://slipway.example.com/', 'https://slipway.example.com///']) {
    t.equal(buildLink(publicUrl, ID), LINK, publicUrl)
    t.equal(payload('discord', SUCCEEDED, publicUrl).embeds[0].url, LINK)
  }
  t.equal(buildLink('https://example.com/slipway/', ID), `https://example.com/slipway/v1/builds/${ID}`, 'a path prefix is kept')
})

t.test('a 10 000-character error message stays within every platform limit', async (t) => {
  // Markup characters (which grow when escaped) and emoji (two UTF-16 units) all the way through.
  const message = 'npm ERR! <&> 💥 '.repeat(625)
  t.equal(message.length, 10_000)
  const huge = event('build.failed', build({ ...finished, status: 'failed', error: { code: 'BUILD_FAILED', message, phase: 'build' } }))

  const slack = payload('slack', huge)
  const blocks: Json[] = slack.attachments[0].blocks
  t.ok(blocks.length <= 50)
  for (const block of blocks) {
    if (block.text) t.ok(block.text.text.length <= 3000, `slack section text ${block.text.text.length} ≤ 3000`)
    for (const field of block.fields ?? []) t.ok(field.text.length <= 2000, 'slack field ≤ 2000')
    t.ok((block.fields ?? []).length <= 10, 'slack ≤ 10 fields')
  }
  const slackError = blocks.find((block) => block.text?.text.startsWith('*Error*'))!.text.text as string
  t.ok(slackError.length > 2500, 'slack keeps most of it')
  t.match(slackError, /…\n```$/, 'slack: cut, and says so')
  t.notMatch(slackError, /&(?!amp;|lt;|gt;)/, 'slack: no entity cut in half')

  const discord = payload('discord', huge)
  const embed = discord.embeds[0]
  t.ok(discord.content.length <= DISCORD_LIMITS.content)
  t.ok(embed.title.length <= DISCORD_LIMITS.title)
  t.ok(embed.description.length <= DISCORD_LIMITS.description, `discord description ${embed.description.length}`)
  t.match(embed.description, /…\n```$/)
  t.ok(embed.fields.length <= DISCORD_LIMITS.fields)
  for (const field of embed.fields) {
    t.ok(field.name.length <= DISCORD_LIMITS.fieldName)
    t.ok(field.value.length > 0 && field.value.length <= DISCORD_LIMITS.fieldValue)
  }
  const total =
    embed.title.length +
    embed.description.length +
    embed.footer.text.length +
    embed.fields.reduce((sum: number, field: Json) => sum + field.name.length + field.value.length, 0)
  t.ok(total <= DISCORD_LIMITS.total, `discord embed total ${total} ≤ 6000`)

  const teams = payload('teams', huge)
  const teamsBytes = Buffer.byteLength(JSON.stringify(teams))
  t.ok(teamsBytes <= 28_000, `teams message ${teamsBytes} bytes ≤ 28 KB`)
  const teamsError = card(teams).body.at(-1).inlines[0].text as string
  t.ok(teamsError.length <= 3000 && teamsError.endsWith('…'), 'teams: cut to 3000, and says so')

  const chat = payload('googlechat', huge)
  const chatBytes = Buffer.byteLength(JSON.stringify(chat))
  t.ok(chatBytes <= 32_000, `google chat message ${chatBytes} bytes ≤ 32 000`)
  t.ok(chat.text.length <= 4096)
  const chatError = chat.cardsV2[0].card.sections[0].widgets.find((w: Json) => w.textParagraph).textParagraph.text as string
  t.ok(chatError.length <= 3000 && chatError.endsWith('…'), 'google chat: cut to 3000, and says so')
  t.notMatch(chatError, /&(?!amp;|lt;|gt;|quot;)/, 'google chat: no entity cut in half')

  for (const format of WEBHOOK_FORMATS) {
    t.notOk(strings(payload(format, huge)).some((text) => LONE_SURROGATE.test(text)), `${format}: no emoji cut in half`)
  }
})

t.test('text from the build cannot become markup, mentions or links', async (t) => {
  const repo = 'git@git.example.com:<@U123>/@everyone&<!channel>.git'
  const hostile = event(
    'build.failed',
    build({
      ...finished,
      status: 'failed',
      request: { ...defaultRequest(repo), ref: '<@U999>' },
      error: { code: 'BUILD_FAILED', message: 'see <https://evil.example|this> @here ``` <users/all> <at>Team</at>', phase: 'build' }
    })
  )

  const slack = payload('slack', hostile)
  const slackText = strings(slack)
  t.notOk(slackText.some((text) => /<(?!https:\/\/slipway\.example\.com\/v1\/builds\/)/.test(text)), 'slack: every "<" left starts one of our links')
  t.ok(slackText.some((text) => text.includes('&lt;@U123&gt;/@everyone&amp;&lt;!channel&gt;.git')), 'slack: the repository, escaped')
  t.ok(slackText.some((text) => text.includes('&lt;@U999&gt;')), 'slack: the ref, escaped')
  t.ok(slackText.some((text) => text.includes('see &lt;https://evil.example|this&gt; @here')), 'slack: the error, escaped')
  const errorBlock: string = slack.attachments[0].blocks.find((b: Json) => b.text?.text.startsWith('*Error*')).text.text
  const insideFence = errorBlock.slice(errorBlock.indexOf('```\n') + 4, errorBlock.lastIndexOf('\n```'))
  t.match(insideFence, /^see /)
  t.notMatch(insideFence, /```/, 'slack: the code block cannot be closed early')
  const description: string = payload('discord', hostile).embeds[0].description
  t.notMatch(description.slice(description.indexOf('```\n') + 4, description.lastIndexOf('\n```')), /```/, 'discord: nor there')

  const discord = payload('discord', hostile)
  t.same(discord.allowed_mentions, { parse: [] }, 'discord: nobody is pinged')
  for (const text of strings(discord)) {
    t.notMatch(text, /@(everyone|here)/, 'discord: no @everyone / @here')
    t.notMatch(text, /<[@#]/, 'discord: no <@…> mention syntax')
  }
  t.match(discord.content, '@\u200beveryone', 'discord: still readable')

  const teams = payload('teams', hostile)
  const runs: string[] = []
  const blocks: string[] = []
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk)
    if (!node || typeof node !== 'object') return
    const n = node as Json
    if (n.type === 'TextRun') runs.push(n.text)
    if (n.type === 'TextBlock') blocks.push(n.text)
    Object.values(n).forEach(walk)
  }
  walk(teams)
  t.ok(runs.includes(repo), 'teams: the repository verbatim, in a TextRun (which renders no markdown)')
  t.ok(runs.includes('<@U999>'), 'teams: the ref too')
  t.ok(runs.some((text) => text.startsWith('see <https://evil.example|this>')), 'teams: the error too')
  t.notOk(blocks.some((text) => /<|@|evil/.test(text)), 'teams: no build text in markdown TextBlocks')
  t.notOk(JSON.stringify(teams).includes('msteams'), 'teams: no mention entities, so <at> cannot mention')

  const chat = payload('googlechat', hostile)
  t.notMatch(chat.text, /U123|everyone|users|evil/, 'google chat: the text line holds nothing from the build')
  for (const text of strings(chat.cardsV2)) {
    t.notMatch(text.replace(/<\/?(font|b)( color="#[0-9A-F]{6}")?>/g, ''), /<|>/, 'google chat: no tag but our own')
  }
  const facts = googleFacts(chat)
  t.equal(facts.Repository, 'git@git.example.com:&lt;@U123&gt;/@everyone&amp;&lt;!channel&gt;.git')
  t.equal(facts.Ref, '&lt;@U999&gt;')
})

t.test('truncate', async (t) => {
  t.equal(truncate('short', 10), 'short')
  t.equal(truncate('exactly10!', 10), 'exactly10!')
  t.equal(truncate('abcdefghijk', 10), 'abcdefghi…')
  t.equal(truncate('abcdefgh💥xyz', 10), 'abcdefgh…', 'never splits a surrogate pair')
  t.equal(truncate('abcdefgh💥xyz', 11), 'abcdefgh💥…')
  for (let max = 1; max < 30; max++) t.ok(truncate('💥'.repeat(20), max).length <= max, `fits in ${max}`)
})
