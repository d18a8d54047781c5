import { once } from 'node:events'
import { PassThrough, Readable } from 'node:stream'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { LogEvent, LogLine } from '../../../storage/build-log.js'
import { actorOf } from '../../plugins/auth.js'
import { BuildIdParams, errors } from './common.js'

const ENTRY_ID = '^[0-9]+-[0-9]+$'
const HEARTBEAT_MS = 15_000

const LogQuery = Type.Object(
  {
    follow: Type.Optional(Type.Boolean({ description: 'Keep the response open and stream new lines until the build ends' })),
    since: Type.Optional(
      Type.String({
        anyOf: [{ pattern: ENTRY_ID }, { format: 'date-time' }],
        description: 'Start after this log entry id (an SSE event id), or at this time (ISO 8601)'
      })
    ),
    tail: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'Start with the last N lines' }))
  },
  { additionalProperties: false }
)

const LastEventId = Type.Object({
  'last-event-id': Type.Optional(Type.String({ pattern: ENTRY_ID, description: 'SSE resume: the id of the last event received' }))
})

export default async function buildLogRoutes (instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  // Open follows end when the server closes, so shutdown is not held up by them; clients resume
  // elsewhere with Last-Event-ID.
  const following = new Set<() => void>()
  fastify.addHook('preClose', async () => {
    for (const stop of following) stop()
  })

  fastify.get(
    '/builds/:id/logs',
    {
      config: { scope: 'builds:read' },
      schema: {
        tags: ['builds'],
        summary: "Read or follow a build's log",
        description:
          'Everything the build printed, in order: git, each build step, the push, and Slipway’s own lines. ' +
          'As text/plain: what there is now, or with `follow=true` everything until the build ends. ' +
          'With `Accept: application/x-ndjson`: the same, each line a JSON object {id, phase, stream, ts, text} (a `log` event’s id and data; ' +
          '`since=<id>` resumes after one): the lines with their streams and times, quicker to read than the events. ' +
          'With `Accept: text/event-stream`: Server-Sent Events until the build ends — `log` (id: the entry id; ' +
          'data: {phase, stream, ts, text}), `status` (data: {status, phase}), then `end` (data: the build); ' +
          'a comment every 15 s keeps the connection open; reconnecting with `Last-Event-ID` resumes exactly ' +
          'after the last event received. Any API process serves any build. A token may hold ' +
          'SLIPWAY_QUOTA_LOG_FOLLOWERS follows open at once, on all API processes together; one more answers 429 QUOTA_EXCEEDED. ' +
          'A log removed by the retention sweeper (SLIPWAY_LOG_RETENTION) answers 410 LOG_EXPIRED, and the build says when (`logExpiredAt`); ' +
          'a removed build answers 410 BUILD_EXPIRED.',
        params: BuildIdParams,
        querystring: LogQuery,
        headers: LastEventId,
        response: {
          200: {
            description: 'The log',
            content: {
              'text/plain': { schema: { type: 'string' } },
              'application/x-ndjson': { schema: { type: 'string' } },
              'text/event-stream': { schema: { type: 'string' } }
            }
          },
          ...errors(400, 404, 410, 503)
        }
      }
    },
    async (request, reply) => {
      const { id } = request.params
      const { follow = false, since, tail } = request.query
      const accept = request.headers.accept ?? ''
      const events = accept.includes('text/event-stream')
      const lines = accept.includes(NDJSON) ? linesAsJson : linesAsText
      const sinceEntry = since !== undefined && new RegExp(ENTRY_ID).test(since) ? since : undefined
      const after = await fastify.logs.logStart(id, {
        after: (events ? request.headers['last-event-id'] : undefined) ?? sinceEntry,
        since: sinceEntry ? undefined : since,
        tail
      })

      if (!events && !follow) return reply.type(lines.type).send(Readable.from(lines.of(fastify.logs.readLog(id, after))))

      const follower = await fastify.logs.followBuildLog(id, after, actorOf(request))
      following.add(follower.stop)
      const clientGone = new AbortController()
      reply.raw.on('close', () => {
        following.delete(follower.stop)
        clientGone.abort()
        follower.stop()
      })
      if (!events) return reply.type(lines.type).send(Readable.from(lines.of(follower.events)))

      const out = new PassThrough()
      const heartbeat = setInterval(() => out.write(': heartbeat\n\n'), HEARTBEAT_MS)
      clientGone.signal.addEventListener('abort', () => clearInterval(heartbeat))
      void (async () => {
        try {
          out.write(': following\n\n')
          for await (const batch of follower.events) {
            if (!out.write(batch.map(sseOf).join(''))) await once(out, 'drain', { signal: clientGone.signal })
          }
          out.write(`event: end\ndata: ${JSON.stringify(await fastify.builds.get(id))}\n\n`)
        } catch (error) {
          // The client went away (its follow was stopped) or Redis failed: either way, stop.
          if (!clientGone.signal.aborted) request.log.warn({ err: error }, 'log stream ended early')
        } finally {
          clearInterval(heartbeat)
          out.end()
        }
      })()
      return reply
        .type('text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('x-accel-buffering', 'no')
        .send(out)
    }
  )
}

const NDJSON = 'application/x-ndjson'

/** A form of the log's lines without its status events: its content type, and its text, one write per batch. */
interface LineForm {
  type: string
  of: (batches: AsyncIterable<LogEvent[]>) => AsyncGenerator<string>
}

function lineForm (type: string, encode: (line: LogLine) => string): LineForm {
  return {
    type,
    async * of (batches) {
      for await (const batch of batches) {
        let text = ''
        for (const event of batch) if (event.kind === 'line') text += encode(event)
        if (text) yield text
      }
    }
  }
}

const linesAsText = lineForm('text/plain; charset=utf-8', (line) => `${line.text}\n`)
const linesAsJson = lineForm(`${NDJSON}; charset=utf-8`, ({ id, phase, stream, ts, text }) => `${JSON.stringify({ id, phase, stream, ts, text })}\n`)

// Followers of one build on this process get the same event objects from the log hub: each is
// encoded once for all of them.
const encoded = new WeakMap<LogEvent, string>()

function sseOf (event: LogEvent): string {
  let text = encoded.get(event)
  if (text === undefined) {
    const data =
      event.kind === 'line'
        ? { phase: event.phase, stream: event.stream, ts: event.ts, text: event.text }
        : { status: event.status, phase: event.phase, ts: event.ts }
    text = `id: ${event.id}\nevent: ${event.kind === 'line' ? 'log' : 'status'}\ndata: ${JSON.stringify(data)}\n\n`
    encoded.set(event, text)
  }
  return text
}
