import type { Delivery, Webhook } from '../../domain/schemas/webhook.js'
import { BUILD_EVENT_TYPES, WEBHOOK_FORMATS } from '../../domain/webhooks/event-types.js'
import { integer, type CommandSpec, COMMON_FLAGS, type Parsed } from '../args.js'
import { EXIT, UsageError, type ExitCode } from '../exit-codes.js'
import { ago, apiOf, print, say, subcommand, table } from './shared.js'

export const webhookSpec: CommandSpec = {
  name: 'webhook',
  usage: 'webhook create URL [--format FORMAT] [--event EVENT]... [--repo PATTERN] [--disabled] | webhook list | webhook deliveries ID [--limit N] [--cursor CURSOR] | webhook redeliver ID DELIVERY_ID',
  summary: 'Send build events to a URL or a chat, and see what was sent (scope webhooks:admin).',
  description: `
Every event of every build (or of the builds of repositories matching --repo) is POSTed to URL:
signed JSON (Standard Webhooks: headers webhook-id, webhook-timestamp, webhook-signature), or a
chat message (--format slack, discord, teams or googlechat). \`create\` prints the signing secret,
only then: the receiver checks the signature with it.

\`deliveries\` lists what was sent, newest first, with the receiver's last answer; \`redeliver\`
sends one again (the same webhook-id and body, newly signed).

Examples:
  slipway webhook create https://ci.example.com/hooks/slipway --event build.succeeded --event build.failed
  slipway webhook create "$SLACK_WEBHOOK_URL" --format slack --repo 'github.com/acme/*'
  slipway webhook list
  slipway webhook deliveries 01JD7Z0000000000000000000A
  slipway webhook redeliver 01JD7Z0000000000000000000A 01JD7Z0000000000000000000B`,
  flags: [
    { name: 'format', value: 'FORMAT', help: `${WEBHOOK_FORMATS.join(', ')} (create; default: json)` },
    { name: 'event', value: 'EVENT', multiple: true, help: `An event to send, from ${BUILD_EVENT_TYPES.join(', ')}; repeat for more (create; default: all)` },
    { name: 'repo', value: 'PATTERN', help: 'Only builds of repositories matching this, e.g. github.com/acme/* (create; default: every build)' },
    { name: 'disabled', help: 'Make it switched off: nothing is sent until it is switched on (over the API, for now) (create)' },
    { name: 'limit', value: 'N', help: 'How many deliveries to show, 1 to 100 (deliveries; default: 20)' },
    { name: 'cursor', value: 'CURSOR', help: 'Show older deliveries: the cursor the previous page named (deliveries)' },
    ...COMMON_FLAGS
  ]
}

export async function webhook (parsed: Parsed): Promise<ExitCode> {
  const { action, args } = subcommand(webhookSpec, parsed, { create: 1, list: 0, deliveries: 1, redeliver: 2 })
  const api = apiOf(parsed)
  switch (action) {
    case 'create': {
      const made = await api.json<Webhook>('POST', 'v1/webhooks', { json: createBody(args[0]!, parsed) })
      print(parsed, made, `${table(webhookRows([made]))}
Signing secret, shown only now: give it to the receiver, which checks the webhook-signature header with it.
  ${made.secret!}
`)
      return EXIT.ok
    }
    case 'list': {
      const { items } = await api.json<{ items: Webhook[] }>('GET', 'v1/webhooks')
      print(parsed, { items }, items.length === 0 ? '' : table(webhookRows(items)))
      if (items.length === 0 && !parsed.has('json')) say('no webhooks yet; `slipway webhook create --help` says how to add one')
      return EXIT.ok
    }
    case 'deliveries': {
      const page = await api.json<{ items: Delivery[]; nextCursor: string | null }>('GET', `${webhookPath(args[0]!)}/deliveries`, {
        query: { limit: integer('limit', parsed.string('limit')), cursor: parsed.string('cursor') }
      })
      print(parsed, page, page.items.length === 0 ? '' : table(deliveryRows(page.items)))
      if (parsed.has('json')) return EXIT.ok
      if (page.items.length === 0) say('nothing sent yet: deliveries appear as builds make events')
      if (page.nextCursor !== null) say(`older deliveries: slipway webhook deliveries ${args[0]} --cursor ${page.nextCursor}`)
      return EXIT.ok
    }
    default: {
      const delivery = await api.json<Delivery>('POST', `${webhookPath(args[0]!)}/deliveries/${encodeURIComponent(args[1]!)}/redeliver`)
      print(parsed, delivery, `${delivery.id}\n`)
      if (!parsed.has('json')) say(`${delivery.event} of build ${delivery.buildId} is being sent again; \`slipway webhook deliveries ${args[0]}\` shows the answer`)
      return EXIT.ok
    }
  }
}

const webhookPath = (id: string) => `v1/webhooks/${encodeURIComponent(id)}`

/** The POST /v1/webhooks body the flags give; the API checks the URL and the pattern. */
function createBody (url: string, parsed: Parsed): object {
  const format = parsed.string('format')
  if (format !== undefined && !(WEBHOOK_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format is one of ${WEBHOOK_FORMATS.join(', ')}, not ${format}.`)
  const events = parsed.strings('event')
  const unknown = events.filter((event) => !(BUILD_EVENT_TYPES as readonly string[]).includes(event))
  if (unknown.length > 0) throw new UsageError(`--event is one of ${BUILD_EVENT_TYPES.join(', ')}, not ${unknown.join(', ')}.`)
  return {
    url,
    ...(format === undefined ? {} : { format }),
    ...(events.length === 0 ? {} : { events }),
    ...(parsed.string('repo') === undefined ? {} : { repo: parsed.string('repo') }),
    ...(parsed.has('disabled') ? { enabled: false } : {})
  }
}

function webhookRows (webhooks: Webhook[]): string[][] {
  const rows = webhooks.map((hook) => [
    hook.id,
    hook.url,
    hook.format,
    hook.events.length === BUILD_EVENT_TYPES.length ? 'all' : hook.events.join(','),
    hook.repo ?? 'any',
    hook.enabled ? 'on' : `off${hook.disabledReason ? `: ${hook.disabledReason}` : ''}`,
    ago(hook.createdAt)
  ])
  return [['ID', 'URL', 'FORMAT', 'EVENTS', 'REPOSITORIES', 'ON', 'MADE'], ...rows]
}

function deliveryRows (deliveries: Delivery[]): string[][] {
  const rows = deliveries.map((delivery) => [delivery.id, ago(delivery.createdAt), delivery.event, delivery.buildId, delivery.status, String(delivery.attempts.length), answerOf(delivery)])
  return [['DELIVERY', 'SENT', 'EVENT', 'BUILD', 'STATUS', 'ATTEMPTS', 'LAST ANSWER'], ...rows]
}

/** The receiver's last answer: its HTTP status, or why none came. */
function answerOf (delivery: Delivery): string {
  const last = delivery.attempts.at(-1)
  if (!last) return '-'
  return last.statusCode === null ? (last.error ?? 'no answer') : `HTTP ${last.statusCode}`
}
