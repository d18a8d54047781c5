import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import t from 'tap'
import { EXIT } from '../../src/cli/exit-codes.js'
import type { Delivery, Webhook } from '../../src/domain/schemas/webhook.js'
import type { Trigger } from '../../src/domain/schemas/trigger.js'
import { buildApp } from '../helpers/app.js'
import { compiledCli, runCli } from '../helpers/cli.js'
import { TEST_ADMIN_TOKEN, testConfig } from '../helpers/config.js'
import { startReceiver } from '../helpers/webhook-receiver.js'
import { startWebhookWorker } from '../../workers/webhook-worker.js'

// `slipway trigger` and `slipway webhook`, the compiled command against the API and the webhook
// worker, which sends to a receiver on loopback (no build worker: a queued build's event is enough).

const BIN = await compiledCli()
const config = testConfig(t, { webhookAllow: '127.0.0.1/32', secretsKey: randomBytes(32).toString('base64') })
const app = await buildApp(t, config)
const url = await app.listen({ port: 0, host: '127.0.0.1' })
const worker = await startWebhookWorker(config, pino({ level: 'silent' }))
t.teardown(() => worker.close())
const receiver = await startReceiver(t)
const run = (args: string[]) => runCli(BIN, { SLIPWAY_URL: url, SLIPWAY_TOKEN: TEST_ADMIN_TOKEN }, args)
const REPO = 'https://github.com/acme/app.git'

t.test('trigger create prints the rule, the events URL and the secret, once; list and show never do', async (t) => {
  const made = await run(['trigger', 'create', '--provider', 'github', '--repo', REPO, '--branch', 'main', '--branch', 'release/*', '--name', 'app main',
    '--image', 'localhost:5000/acme/app', '--build-arg', 'NODE_ENV=production', '--no-cache'])
  t.equal(made.code, EXIT.ok, made.stderr)
  const id = /^Trigger rule (\S+) "app main": on$/m.exec(made.stdout)?.[1]
  t.ok(id, made.stdout)
  const stored = (await app.inject({ method: 'GET', url: `/v1/triggers/${id}` })).json<Trigger>()
  t.match(stored, { provider: 'github', repo: REPO, branches: ['main', 'release/*'], build: { image: 'localhost:5000/acme/app', buildArgs: { NODE_ENV: 'production' }, noCache: true } })
  t.match(made.stdout, /^ {2}branches {2}main, release\/\*$/m)
  t.match(made.stdout, /Settings → Webhooks → Add webhook/)
  t.match(made.stdout, new RegExp(`^ {2}Payload URL {3}${stored.eventsUrl}$`, 'm'))
  const secret = /^ {2}Secret {8}(\S+)$/m.exec(made.stdout)?.[1]
  t.ok(secret && secret.length >= 16, 'the secret is printed')
  t.match(made.stdout, /shown only now/)

  const list = await run(['trigger', 'list'])
  t.equal(list.code, EXIT.ok, list.stderr)
  t.match(list.stdout, /^ID +NAME +FROM +REPOSITORY +BRANCHES +ON +MADE$/m)
  t.match(list.stdout, new RegExp(`^${id} +app main +GitHub +${REPO.replaceAll('.', '\\.')} +main,release/\\* +on +.+ ago$`, 'm'))
  const show = await run(['trigger', 'show', id!])
  t.equal(show.code, EXIT.ok, show.stderr)
  for (const flag of ['--image localhost:5000/acme/app', '--build-arg NODE_ENV=production', '--no-cache']) t.match(show.stdout, flag, 'options shown as the flags that give them')
  t.match(show.stdout, /^ {2}made {6}.+ ago by the admin token$/m, 'who made it, worded as the portal words it')
  const listJson = await run(['trigger', 'list', '--json'])
  t.match(JSON.parse(listJson.stdout), { items: [{ id, name: 'app main' }] })
  const showJson = await run(['trigger', 'show', id!, '--json'])
  t.match(JSON.parse(showJson.stdout), { id, eventsUrl: stored.eventsUrl })
  for (const later of [list, show, listJson, showJson]) t.notMatch(later.stdout + later.stderr, secret!, 'never printed again')

  t.equal((await run(['trigger', 'delete', id!])).code, EXIT.ok)
  const gone = await run(['trigger', 'show', id!])
  t.equal(gone.code, EXIT.rejected)
  t.match(gone.stderr, /^slipway: TRIGGER_NOT_FOUND: /)
})

t.test('trigger create --pull-requests --report: pull requests build and report; show and the webhook advice say so', async (t) => {
  await app.inject({ method: 'POST', url: '/v1/secrets', payload: { id: 'github-status', value: 'ghp_not-a-real-token', repos: ['github.com/acme/*'] } })
  const made = await run(['trigger', 'create', '--provider', 'github', '--repo', REPO, '--branch', 'main', '--pull-requests', '--push-pull-requests',
    '--image', 'localhost:5000/acme/app', '--report', 'github', '--report-token', 'github-status', '--report-context', 'slipway/app'])
  t.equal(made.code, EXIT.ok, made.stderr)
  const id = /^Trigger rule ([0-9A-Z]{26})/m.exec(made.stdout)?.[1]
  const stored = (await app.inject({ method: 'GET', url: `/v1/triggers/${id}` })).json<Trigger>()
  t.match(stored, { events: ['push', 'pull_request'], pushPullRequests: true, build: { report: { provider: 'github', token: 'github-status', context: 'slipway/app' } } })
  t.match(made.stdout, /^ {2}on {8}pushes, and pull requests into them \(pushed as pr-<number>, never from forks\)$/m)
  t.match(made.stdout, /--report github --report-token github-status --report-context slipway\/app/, 'the report shown as the flags that give it')
  t.match(made.stdout, /"Let me select individual events": Pushes and Pull requests/)
  const lonely = await run(['trigger', 'create', '--provider', 'github', '--repo', REPO, '--branch', 'main', '--report', 'github'])
  t.equal(lonely.code, EXIT.usage)
  t.match(lonely.stderr, /--report needs --report-token ID/)
  const upload = await run(['submit', '--dir', '.', '--report', 'github', '--report-token', 'github-status'])
  t.equal(upload.code, EXIT.usage)
  t.match(upload.stderr, /--report is for --repo only/)
})

t.test('trigger create --json answers the API\'s rule with its secret', async (t) => {
  const made = await run(['trigger', 'create', '--provider', 'gitlab', '--repo', 'https://gitlab.example.com/acme/app.git', '--branch', '*', '--disabled', '--json'])
  t.equal(made.code, EXIT.ok, made.stderr)
  const rule = JSON.parse(made.stdout) as Trigger
  t.match(rule, { provider: 'gitlab', branches: ['*'], enabled: false, secret: String })
  t.equal((await run(['trigger', 'delete', rule.id, '--json'])).code, EXIT.ok)
})

t.test('trigger: a refusal from the API exits as rejected and says why; a missing flag is a usage error', async (t) => {
  const refused = await run(['trigger', 'create', '--provider', 'github', '--repo', 'https://user:pw@github.com/acme/app.git', '--branch', 'main'])
  t.equal(refused.code, EXIT.rejected)
  t.match(refused.stderr, /^slipway: REPO_URL_INVALID: /)
  t.notOk(refused.stderr.includes('user:pw@'), 'the credentials are not echoed')
  const noBranch = await run(['trigger', 'create', '--provider', 'github', '--repo', REPO])
  t.equal(noBranch.code, EXIT.usage)
  t.match(noBranch.stderr, /needs --provider, --repo and at least one --branch/)
  const badProvider = await run(['trigger', 'create', '--provider', 'bitbucket', '--repo', REPO, '--branch', 'main'])
  t.equal(badProvider.code, EXIT.usage)
  const noAction = await run(['trigger', 'show'])
  t.equal(noAction.code, EXIT.usage)
  t.match(noAction.stderr, /trigger takes create, list, show, delete/)
  const noToken = await runCli(BIN, { SLIPWAY_URL: url, SLIPWAY_TOKEN: 'slw_not-a-token' }, ['trigger', 'list'])
  t.equal(noToken.code, EXIT.unauthorized)
})

t.test('webhook create shows the signing secret once; list, deliveries and redeliver', async (t) => {
  const made = await run(['webhook', 'create', receiver.url, '--event', 'build.queued', '--event', 'build.failed', '--repo', 'github.com/acme/*'])
  t.equal(made.code, EXIT.ok, made.stderr)
  const id = new RegExp(`^(\\S+) +${receiver.url} +json`, 'm').exec(made.stdout)?.[1]
  t.ok(id, made.stdout)
  t.match(made.stdout, / +build\.queued,build\.failed +github\.com\/acme\/\* +on +/m)
  const secret = /shown only now.*\n {2}(whsec_\S+)$/m.exec(made.stdout)?.[1]
  t.ok(secret, 'the secret is printed')
  receiver.trust(secret!)

  const list = await run(['webhook', 'list'])
  t.equal(list.code, EXIT.ok, list.stderr)
  t.match(list.stdout, new RegExp(`^${id} +${receiver.url} +json`, 'm'))
  const listJson = await run(['webhook', 'list', '--json'])
  t.match(JSON.parse(listJson.stdout), { items: [{ id, events: ['build.queued', 'build.failed'] }] })
  for (const later of [list, listJson]) t.notMatch(later.stdout + later.stderr, secret!.slice(6), 'never printed again')

  const none = await run(['webhook', 'deliveries', id!])
  t.equal(none.code, EXIT.ok, none.stderr)
  t.equal(none.stdout, '')
  t.match(none.stderr, /nothing sent yet/)

  const build = (await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: REPO } })).json<{ id: string }>()
  await receiver.waitFor(1)
  await delivered(id!, 1)
  const deliveries = await run(['webhook', 'deliveries', id!])
  t.equal(deliveries.code, EXIT.ok, deliveries.stderr)
  t.match(deliveries.stdout, /^DELIVERY +SENT +EVENT +BUILD +STATUS +ATTEMPTS +LAST ANSWER$/m)
  const delivery = new RegExp(`^(\\S+) +.+ ago +build\\.queued +${build.id} +delivered +1 +HTTP 200$`, 'm').exec(deliveries.stdout)?.[1]
  t.ok(delivery, deliveries.stdout)
  const page = JSON.parse((await run(['webhook', 'deliveries', id!, '--json', '--limit', '1'])).stdout) as { items: Delivery[] }
  t.match(page, { items: [{ id: delivery, buildId: build.id }] })

  const again = await run(['webhook', 'redeliver', id!, delivery!])
  t.equal(again.code, EXIT.ok, again.stderr)
  t.equal(again.stdout, `${delivery}\n`)
  t.match(again.stderr, new RegExp(`build\\.queued of build ${build.id} is being sent again`))
  await receiver.waitFor(2)
  t.same(receiver.received.map((received) => received.id), [`msg_${delivery}`, `msg_${delivery}`], 'sent again as the same message')
  const againJson = await run(['webhook', 'redeliver', id!, delivery!, '--json'])
  t.match(JSON.parse(againJson.stdout), { id: delivery, event: 'build.queued' })
  const unknown = await run(['webhook', 'redeliver', id!, 'nope'])
  t.equal(unknown.code, EXIT.rejected)
  t.match(unknown.stderr, /^slipway: DELIVERY_NOT_FOUND: /)
})

t.test('webhook create --json answers the API\'s subscription; refusals say why', async (t) => {
  const made = await run(['webhook', 'create', `${receiver.url}/chat`, '--format', 'slack', '--json'])
  t.equal(made.code, EXIT.ok, made.stderr)
  t.match(JSON.parse(made.stdout) as Webhook, { format: 'slack', events: ['build.queued'], secret: /^whsec_/ })
  const privateUrl = await run(['webhook', 'create', 'http://10.1.2.3/hook'])
  t.equal(privateUrl.code, EXIT.rejected)
  t.match(privateUrl.stderr, /^slipway: \w+: /)
  const badEvent = await run(['webhook', 'create', receiver.url, '--event', 'build.done'])
  t.equal(badEvent.code, EXIT.usage)
  t.match(badEvent.stderr, /--event is one of build\.queued/)
  const noUrl = await run(['webhook', 'create'])
  t.equal(noUrl.code, EXIT.usage)
})

/** Waits until the subscription's deliveries have `attempts` attempts between them, all answered. */
async function delivered (webhookId: string, attempts: number) {
  for (;;) {
    const { items } = (await app.inject({ method: 'GET', url: `/v1/webhooks/${webhookId}/deliveries` })).json<{ items: Delivery[] }>()
    if (items.flatMap((item) => item.attempts).length >= attempts) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
