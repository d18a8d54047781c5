import t, { type Test } from 'tap'
import { cacheText } from '../../src/domain/build-summary.js'
import type { Build } from '../../src/domain/schemas/build.js'
import type { Delivery, Webhook } from '../../src/domain/schemas/webhook.js'
import { buildApp } from '../helpers/app.js'
import { createRepo } from '../helpers/git-repo.js'
import { startSlipway } from '../helpers/slipway.js'
import { startReceiver } from '../helpers/webhook-receiver.js'

// Real builds, a real receiver on loopback (allowed by configuration, as an internal receiver
// would be), retries made quick: 6 attempts from 200 ms.
async function setup (t: Test) {
  const slipway = await startSlipway(t, { webhookAllow: '127.0.0.1/32', webhookAttempts: 6, webhookBackoffMs: 200 })
  const receiver = await startReceiver(t)
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN true\n' })
  const subscribe = async (body: object) => {
    const response = await slipway.app.inject({ method: 'POST', url: '/v1/webhooks', payload: body })
    t.equal(response.statusCode, 201, response.body)
    const webhook = response.json<Webhook>()
    receiver.trust(webhook.secret!)
    return webhook
  }
  const deliveriesOf = async (webhookId: string) =>
    (await slipway.app.inject({ method: 'GET', url: `/v1/webhooks/${webhookId}/deliveries?limit=100` })).json<{ items: Delivery[] }>().items
  return { slipway, receiver, repo, subscribe, deliveriesOf }
}

const typeOf = (body: string) => (JSON.parse(body) as { type: string }).type

t.test('every event of a build arrives signed, in sequence, with the build and nothing secret', async (t) => {
  const { slipway, receiver, repo, subscribe } = await setup(t)
  const webhook = await subscribe({ url: receiver.url })
  t.match(webhook.secret, /^whsec_[A-Za-z0-9+/]+=*$/, 'Slipway made a secret')
  const shown = (await slipway.app.inject({ method: 'GET', url: `/v1/webhooks/${webhook.id}` })).json<Webhook>()
  t.equal(shown.secret, undefined, 'the secret is shown once, never again')

  const build = await slipway.build({ repo: repo.url })
  const deliveries = await receiver.waitFor(3)
  t.same(deliveries.map((d) => typeOf(d.body)), ['build.queued', 'build.started', 'build.succeeded'])
  t.ok(deliveries.every((d) => d.verifiedWith.length === 1), 'every signature verifies with the secret')
  t.same(deliveries.map((d) => (JSON.parse(d.body) as { sequence: number }).sequence), [1, 2, 3])
  const last = JSON.parse(deliveries[2]!.body) as { data: Build; timestamp: string }
  t.equal(last.data.id, build.id)
  t.equal(last.data.status, 'succeeded')
  t.match(last.data.cache, { comparedWith: null, steps: 1 }, 'the layer cache summary, with its first miss where a step ran')
  t.ok(deliveries.every((d) => !d.body.includes(webhook.secret!.slice(6))), 'no payload holds the secret')
  t.equal(new Set(deliveries.map((d) => d.id)).size, 3, 'each event has its own webhook-id')
})

t.test('a receiver that fails, then goes away, then comes back gets the event, with the same id, and every attempt is recorded', async (t) => {
  const { slipway, receiver, repo, subscribe, deliveriesOf } = await setup(t)
  const webhook = await subscribe({ url: receiver.url, events: ['build.succeeded'] })
  let failures = 0
  receiver.answerWith(() => (failures++ < 2 ? 500 : 200))
  const build = await slipway.submit({ repo: repo.url })
  await receiver.waitFor(2)
  await receiver.stop()
  await slipway.wait(build.id)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await receiver.start()
  const arrived = await receiver.waitFor(3)
  t.same(arrived.map((d) => d.answered), [500, 500, 200])
  t.equal(new Set(arrived.map((d) => d.id)).size, 1, 'the same webhook-id on every retry')

  const [delivery] = await deliveriesOf(webhook.id)
  t.equal(delivery?.status, 'delivered')
  t.equal(delivery?.buildId, build.id)
  t.equal(`msg_${delivery?.id}`, arrived[0]!.id)
  const attempts = delivery?.attempts ?? []
  t.ok(attempts.length >= 4, `every attempt is recorded (${attempts.length})`)
  t.same(attempts.slice(0, 2).map((a) => a.statusCode), [500, 500])
  t.match(attempts[0], { response: 'answered 500' })
  t.ok(attempts.some((a) => a.statusCode === null && /ECONNREFUSED|refused/i.test(a.error ?? '')), 'a refused connection is an attempt too')
  t.match(attempts.at(-1), { statusCode: 200, error: null })
  const buildDeliveries = (await slipway.app.inject({ method: 'GET', url: `/v1/builds/${build.id}/deliveries` })).json<{ items: Delivery[] }>()
  t.same(buildDeliveries.items.map((d) => d.id), [delivery?.id])
})

t.test('410 Gone disables the subscription; a redirect is not followed', async (t) => {
  const { slipway, receiver, repo, subscribe, deliveriesOf } = await setup(t)
  receiver.answerWith(({ url }) => (url.endsWith('/gone') ? 410 : url.endsWith('/moved') ? 302 : 200))
  const gone = await subscribe({ url: `${receiver.url}/gone`, events: ['build.queued'] })
  const moved = await subscribe({ url: `${receiver.url}/moved`, events: ['build.queued'] })
  await slipway.build({ repo: repo.url })

  const disabled = await eventually(async () => {
    const webhook = (await slipway.app.inject({ method: 'GET', url: `/v1/webhooks/${gone.id}` })).json<Webhook>()
    return webhook.enabled ? undefined : webhook
  })
  t.match(disabled.disabledReason, /410 Gone/)
  t.match((await deliveriesOf(gone.id))[0], { status: 'abandoned', attempts: [{ statusCode: 410 }] })

  const failed = await eventually(async () => (await deliveriesOf(moved.id)).find((d) => d.status === 'failed'))
  t.equal(failed.attempts.length, 6, 'every attempt made, then given up')
  t.ok(failed.attempts.every((a) => a.statusCode === 302 && /redirect to .* not followed/.test(a.error ?? '')))
  t.equal(receiver.received.filter((d) => d.url.endsWith('/moved')).length, 6, 'and the redirect target never asked for')

  const before = receiver.received.filter((d) => d.url.endsWith('/gone')).length
  await slipway.build({ repo: repo.url })
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(receiver.received.filter((d) => d.url.endsWith('/gone')).length, before, 'a disabled subscription hears nothing more')
})

t.test('redelivery sends the same message again; a rotated secret signs beside the old one', async (t) => {
  const { slipway, receiver, repo, subscribe, deliveriesOf } = await setup(t)
  const webhook = await subscribe({ url: receiver.url, events: ['build.succeeded'] })
  await slipway.build({ repo: repo.url })
  const [first] = await receiver.waitFor(1)
  const [delivery] = await deliveriesOf(webhook.id)
  const redelivered = await slipway.app.inject({ method: 'POST', url: `/v1/webhooks/${webhook.id}/deliveries/${delivery!.id}/redeliver` })
  t.equal(redelivered.statusCode, 202)
  const [, again] = await receiver.waitFor(2)
  t.equal(again?.id, first?.id, 'the same webhook-id')
  t.equal(again?.body, first?.body, 'the same body')

  const rotated = await slipway.app.inject({ method: 'POST', url: `/v1/webhooks/${webhook.id}/rotate-secret`, payload: { graceSeconds: 3600 } })
  const fresh = rotated.json<Webhook>().secret!
  t.not(fresh, webhook.secret)
  receiver.trust(fresh)
  await slipway.build({ repo: repo.url })
  const [, , third] = await receiver.waitFor(3)
  t.equal(third?.signatures.length, 2, 'two signatures during the grace period')
  t.same(third?.verifiedWith.sort(), [webhook.secret!, fresh].sort(), 'one verifies with the old secret, one with the new')
})

t.test("a build's own webhook, in Slack's format: its secret shown once, its URL path never", async (t) => {
  const { slipway, receiver, repo } = await setup(t)
  const response = await slipway.app.inject({
    method: 'POST',
    url: '/v1/builds',
    payload: { repo: repo.url, webhooks: [{ url: `${receiver.url}/T000/B000/XXXXSECRET`, format: 'slack', events: ['build.succeeded'] }] }
  })
  t.equal(response.statusCode, 202, response.body)
  const submitted = response.json<Build>()
  const [own] = submitted.request.webhooks
  t.match(own, { url: receiver.url.replace('/hook', ''), format: 'slack', events: ['build.succeeded'] })
  t.match(own?.secret, /^whsec_/)
  receiver.trust(own!.secret!)
  const stored = await slipway.wait(submitted.id)
  t.notMatch(JSON.stringify(stored), /XXXXSECRET|whsec_/, 'neither the URL path nor the secret is shown again')

  const [delivery] = await receiver.waitFor(1)
  t.equal(delivery?.url, '/hook/T000/B000/XXXXSECRET')
  t.equal(delivery?.verifiedWith.length, 1)
  const message = JSON.parse(delivery!.body) as { text?: string; blocks?: unknown[] }
  t.match(message.text, /succeeded/i, 'a Slack message')
  t.ok(Array.isArray(message.blocks) || 'attachments' in message)
  const cache = cacheText(stored)
  t.ok(cache && JSON.stringify(message).includes(cache), `the message says what came from the layer cache: ${cache}`)
})

t.test('hostile webhook URLs are refused, and a local receiver hears nothing unless allowed', async (t) => {
  const slipway = await startSlipway(t)
  const receiver = await startReceiver(t)
  const port = new URL(receiver.url).port
  const hostile = [
    receiver.url,
    `http://localhost:${port}/`,
    'http://169.254.169.254/latest/meta-data/',
    'http://2852039166/',
    'http://0xA9FEA9FE/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::1]/',
    'http://10.0.0.1/',
    'http://192.168.1.1/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://2130706433/',
    'http://0x7f.1/',
    'file:///etc/passwd',
    'gopher://example.com/'
  ]
  for (const url of hostile) {
    const response = await slipway.app.inject({ method: 'POST', url: '/v1/webhooks', payload: { url } })
    t.equal(response.statusCode, 400, url)
    t.match(response.json().code, /^WEBHOOK_URL_(FORBIDDEN|INVALID)$/, url)
    const build = await slipway.app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: 'https://example.com/x.git', webhooks: [{ url }] } })
    t.equal(build.statusCode, 400, `a build's own webhook: ${url}`)
  }
  t.same(receiver.received, [], 'the receiver heard nothing')
})

t.test('each delivery is checked again as it is sent: a receiver no longer allowed hears nothing', async (t) => {
  const slipway = await startSlipway(t)
  const receiver = await startReceiver(t)
  // Created while the operator allowed loopback; the worker no longer does.
  const permissive = await buildApp(t, { ...slipway.config, webhookAllow: '127.0.0.1/32' })
  const created = await permissive.inject({ method: 'POST', url: '/v1/webhooks', payload: { url: receiver.url, events: ['build.queued'] } })
  t.equal(created.statusCode, 201)
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\n' })
  await slipway.build({ repo: repo.url })
  const deliveries = await eventually(async () => {
    const page = (await slipway.app.inject({ method: 'GET', url: `/v1/webhooks/${created.json<Webhook>().id}/deliveries` })).json<{ items: Delivery[] }>()
    return page.items.find((d) => d.status !== 'pending')
  })
  t.equal(deliveries.status, 'abandoned')
  t.match(deliveries.attempts[0]?.error, /delivered only to public hosts/)
  t.same(receiver.received, [], 'nothing was sent')
})

/** Polls until `probe` returns something. */
async function eventually<T> (probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
