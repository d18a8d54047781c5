import { Redis } from 'ioredis'
import t from 'tap'
import { ulid } from 'ulid'
import { newBuildRecord } from '../../../../src/domain/builds/build-request.js'
import { createStorage } from '../../../../src/storage/storage.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { defaultRequest } from '../../../helpers/fixtures.js'

// GET /v1/builds/{id}/logs as NDJSON on the real API and a real Redis, without a worker: an ended
// build's log stored as a worker leaves it, read in the compact form the portal reads it in.

interface JsonLine {
  id: string
  phase: string
  stream: string
  ts: number
  text: string
}

t.test('as NDJSON: each line with its id, phase, stream and time, the status events left out; since and follow as for text', async (t) => {
  const config = testConfig(t)
  const app = await buildApp(t, config)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const storage = createStorage(redis, config)
  const record = { ...newBuildRecord(ulid(), defaultRequest('https://git.example/app'), new Date()), status: 'failed' as const }
  await storage.builds.create(record)
  const writer = await storage.buildLogs.openWriter(record.id, { maxBytes: 1024, redact: (text) => text })
  writer.status('running', 'build')
  writer.write('build', 'system', '==> build')
  writer.write('build', 'stdout', 'a line with "quotes", a \\ and a tab\tin it')
  writer.write('build', 'stderr', 'ünïcödé, and an error')
  writer.status('failed', 'build')
  await writer.close()

  const url = `/v1/builds/${record.id}/logs`
  const answer = await app.inject({ method: 'GET', url, headers: { accept: 'application/x-ndjson' } })
  t.equal(answer.statusCode, 200)
  t.match(answer.headers['content-type'], /^application\/x-ndjson; charset=utf-8$/)
  t.ok(answer.body.endsWith('\n'), 'every line ends with a newline')
  const lines = answer.body.trimEnd().split('\n').map((line) => JSON.parse(line) as JsonLine)
  t.same(
    lines.map(({ phase, stream, text }) => ({ phase, stream, text })),
    [
      { phase: 'build', stream: 'system', text: '==> build' },
      { phase: 'build', stream: 'stdout', text: 'a line with "quotes", a \\ and a tab\tin it' },
      { phase: 'build', stream: 'stderr', text: 'ünïcödé, and an error' }
    ],
    'the lines, each a JSON object, the status events left out'
  )
  t.ok(lines.every((line) => Math.abs(line.ts - Date.now()) < 60_000), 'each with its time')

  const events = (await app.inject({ method: 'GET', url, headers: { accept: 'text/event-stream' } })).body
  const logIds = [...events.matchAll(/^id: (\S+)\nevent: log$/gm)].map((match) => match[1])
  t.same(lines.map((line) => line.id), logIds, "each with its entry id, the id of the same line's SSE event")

  const since = await app.inject({ method: 'GET', url: `${url}?since=${lines[0]!.id}`, headers: { accept: 'application/x-ndjson' } })
  t.same(since.body.trimEnd().split('\n').map((line) => (JSON.parse(line) as JsonLine).text), lines.slice(1).map((line) => line.text), 'since=<id> resumes after that line')

  const followed = await app.inject({ method: 'GET', url: `${url}?follow=true`, headers: { accept: 'application/x-ndjson' } })
  t.equal(followed.body, answer.body, "follow=true of an ended build's log: the same, then the end")

  const text = await app.inject({ method: 'GET', url, headers: { accept: 'text/plain' } })
  t.equal(text.body, `${lines.map((line) => line.text).join('\n')}\n`, 'text/plain is still the bare text')
})
