import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import type { Build } from '../../src/domain/schemas/build.js'
import { buildApp } from '../helpers/app.js'
import { asAdmin, testConfig } from '../helpers/config.js'
import { createRepo } from '../helpers/git-repo.js'
import { startSlipwayProcess } from '../helpers/processes.js'
import { readSse, type SseEvent } from '../helpers/sse.js'

// Two API replicas in this process, a worker in a process of its own: the only thing they share
// is Redis, as on three hosts.
async function threeProcesses (t: Test) {
  const config = testConfig(t)
  const replicas = []
  for (let i = 0; i < 2; i++) {
    const app = await buildApp(t, config)
    await app.listen({ host: '127.0.0.1', port: 0 })
    replicas.push(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
  }
  await startSlipwayProcess(t, config, 'worker')
  const [a, b] = replicas as [string, string]
  return { a, b, config }
}

const COUNTING = (lines: number) =>
  `FROM busybox\nRUN for i in $(seq 1 ${lines}); do echo "line $i"; sleep 0.02; done\n`

async function submit (api: string, body: object): Promise<Build> {
  const response = await fetch(`${api}/v1/builds`, { method: 'POST', headers: asAdmin({ 'content-type': 'application/json' }), body: JSON.stringify(body) })
  return (await response.json()) as Build
}

async function collect (events: AsyncIterable<SseEvent>, stopAfter?: (event: SseEvent, seen: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const seen: SseEvent[] = []
  for await (const event of events) {
    seen.push(event)
    if (stopAfter?.(event, seen)) break
  }
  return seen
}

const counted = (events: SseEvent[]) =>
  events.filter((e) => e.event === 'log').map((e) => (JSON.parse(e.data) as { text: string }).text).flatMap((text) => /line (\d+)$/.exec(text)?.[1] ?? [])

for (const builder of ['buildkit', 'classic'] as const) {
  t.test(`${builder}: followers on two replicas get every line once, in order, then end; a cut stream resumes exactly`, async (t) => {
    const { a, b } = await threeProcesses(t)
    const repo = await createRepo(t, { Dockerfile: COUNTING(60) })
    const build = await submit(a, { repo: repo.url, builder, noCache: true })

    // Followers connected before the build starts.
    const onA = collect(readSse(`${a}/v1/builds/${build.id}/logs`, { headers: asAdmin() }))
    const onB = collect(readSse(`${b}/v1/builds/${build.id}/logs`, { headers: asAdmin() }))
    // A third follower is cut after 20 counted lines and resumes on the other replica.
    const cut = new AbortController()
    const firstPart = await collect(readSse(`${b}/v1/builds/${build.id}/logs`, { headers: asAdmin(), signal: cut.signal }), (_e, seen) => counted(seen).length === 20).finally(() =>
      cut.abort()
    )
    const lastId = firstPart.findLast((event) => event.id)?.id
    const secondPart = await collect(readSse(`${a}/v1/builds/${build.id}/logs`, { headers: asAdmin({ 'last-event-id': lastId! }) }))

    const expected = Array.from({ length: 60 }, (_, i) => String(i + 1))
    for (const [name, events] of [['replica A', await onA], ['replica B', await onB]] as const) {
      t.same(counted(events), expected, `${name}: every line once, in order`)
      const end = events.at(-1)
      t.equal(end?.event, 'end', `${name}: the stream ends with end`)
      t.match(JSON.parse(end?.data ?? '{}'), { id: build.id, status: 'succeeded', builder })
      const ids = events.filter((e) => e.id).map((e) => e.id)
      t.equal(new Set(ids).size, ids.length, `${name}: no event id twice`)
      const statuses = events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data) as { status: string; phase: string | null })
      t.same(
        statuses.map((s) => `${s.status}${s.phase ? `:${s.phase}` : ''}`),
        ['running', 'running:clone', 'running:context', 'running:build', 'running:inspect', 'succeeded'],
        `${name}: status and phase changes`
      )
    }
    t.same([...counted(firstPart), ...counted(secondPart)], expected, 'cut and resumed with Last-Event-ID: nothing missed, nothing repeated')
    t.equal(secondPart.at(-1)?.event, 'end')
  })
}

t.test('plain text: follow, tail and since, from either replica', async (t) => {
  const { a, b } = await threeProcesses(t)
  const repo = await createRepo(t, { Dockerfile: COUNTING(30) })
  const build = await submit(b, { repo: repo.url, builder: 'classic', noCache: true })

  const followed = await (await fetch(`${a}/v1/builds/${build.id}/logs?follow=true`, { headers: asAdmin() })).text()
  const numbers = followed.split('\n').flatMap((line) => /^line (\d+)$/.exec(line)?.[1] ?? [])
  t.same(numbers, Array.from({ length: 30 }, (_, i) => String(i + 1)), 'follow=true streams until the build ends')
  t.match(followed, /==> succeeded in/)

  const tail = await (await fetch(`${b}/v1/builds/${build.id}/logs?tail=2`, { headers: asAdmin() })).text()
  t.equal(tail.split('\n').filter(Boolean).length, 2)
  t.match(tail, /==> succeeded in/, 'the tail is the end of the log')

  const events = await collect(readSse(`${a}/v1/builds/${build.id}/logs`, { headers: asAdmin() }))
  const tenth = events.find((event) => event.event === 'log' && event.data.includes('"line 10"'))!
  const since = await (await fetch(`${b}/v1/builds/${build.id}/logs?since=${tenth.id}`, { headers: asAdmin() })).text()
  t.match(since.split('\n')[0], /^line 11$/, 'since an entry id starts right after it')

  const bad = await fetch(`${a}/v1/builds/${build.id}/logs?since=yesterday`, { headers: asAdmin() })
  t.equal(bad.status, 400)
  t.equal(((await bad.json()) as { code: string }).code, 'VALIDATION_FAILED')
})
