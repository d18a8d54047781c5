import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type TSchema } from '@sinclair/typebox'
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply } from 'fastify'
import multipart from '@fastify/multipart'
import { BuildListQuerySchema, BuildListSchema, BuildRequestSchema, BuildSchema, BuildStatusSchema, BuildSummaryListSchema, type BuildListView, type BuildRequest } from '../../../domain/schemas/build.js'
import { BodyInvalid, ValidationFailed } from '../../../domain/errors.js'
import { WAIT_PATTERN, waitMs } from '../../../domain/builds/build-wait.js'
import type { RenderBuild } from '../../../services/build-answers.js'
import { isUpload, readUploadRequest, TAR_GZIP_TYPES } from '../../upload-request.js'
import { parseIdempotencyKey } from '../../../storage/idempotency.js'
import { actorOf, senderOf } from '../../plugins/auth.js'
import { BuildIdParams, errors } from './common.js'

const ETagHeader = Type.String({ description: "The answer's strong entity tag: it changes whenever anything in the build does" })

// A list answer is written by its view's schema (not the route's 200, which documents both and
// would try each): the summary's leaves out, entry by entry, what the full view has beyond it.
// Kept here, one object each: Fastify compiles a schema once per object.
const LIST_BODIES: Record<BuildListView, TSchema> = { full: Type.Ref(BuildListSchema), summary: Type.Ref(BuildSummaryListSchema) }

const TarGzipBody = Type.String({ format: 'binary', description: 'A gzipped tar of the files to build, as `tar -czf - .` writes it' })

export default async function buildRoutes (instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()

  // Only POST /v1/builds takes uploads, so the multipart plugin is registered in a scope of its own
  // around it: its hooks (a listener on every answer, a clean-up of saved files after it) run on
  // each request of the scope they are added in, the polled GET /v1/builds/{id} included.
  await fastify.register(async function uploadRoute (scope: FastifyInstance) {
    const uploads = scope.withTypeProvider<TypeBoxTypeProvider>()
    // An uploaded tar reaches its handler as the raw stream: it is checked and stored as it arrives,
    // never held whole in memory (nor refused by the JSON body limit).
    uploads.addContentTypeParser(TAR_GZIP_TYPES, (_request, payload, done) => done(null, payload))
    await uploads.register(multipart)

    uploads.post(
      '/builds',
      {
        config: { scope: 'builds:write' },
        schema: {
          tags: ['builds'],
          summary: 'Submit a build of a repository, or of an uploaded tar',
          description:
            'Stores and queues a build of the repository. Answers 202 at once with the build (status `queued`) and its ' +
            'URL in `Location`; poll it, or read its log, to follow it.\n\n' +
            'To build files you hold instead of a repository, send them as a gzipped tar (`tar -czf - .`): as the body ' +
            '(`Content-Type: application/gzip`) with the options as URL-encoded JSON in the query parameter `options`, ' +
            'or as a `multipart/form-data` form with the field `options` (JSON) and the file `source`. The options are ' +
            'those of a JSON body but repo, ref, submodules, keepGitDir and supersede (`BuildUploadOptions`). A tar ' +
            'larger than SLIPWAY_UPLOAD_MAX_BYTES answers 413 UPLOAD_TOO_LARGE; one that is not a gzipped tar, 400 ' +
            'UPLOAD_INVALID; one with absolute paths, "..", links leading out, hard links or devices, 400 UPLOAD_UNSAFE.\n\n' +
            'With an `Idempotency-Key` header, sending the same request again (a retry after a timeout) returns the build ' +
            'the first one made (`Idempotent-Replayed: true`); the same key with another body is refused with 422. Keys ' +
            'live a day.\n\nA request identical to a build that is still queued or running joins it ' +
            '(`Slipway-Joined: true`) unless it says `force` or `supersede`; for uploads, identical means the same ' +
            'options and the same bytes.\n\nA build that pushes must push inside the repositories its token may push to ' +
            "(the token's `pushAllow`, else the server's SLIPWAY_PUSH_ALLOW); otherwise it is refused with 403 " +
            'IMAGE_NOT_ALLOWED before anything is stored, replayed or joined. A build that is not pushed is tagged in the ' +
            "server's local namespace (SLIPWAY_LOCAL_IMAGE_NAMESPACE) and needs no pattern. The images named in `cacheFrom` " +
            'must be inside the same patterns (403 CACHE_FROM_NOT_ALLOWED otherwise): the worker reads their cache with its own credentials.' +
            '\n\nA token (or trigger rule) may have SLIPWAY_QUOTA_ACTIVE_BUILDS builds queued or ' +
            'running at once, and SLIPWAY_QUOTA_UPLOAD_BYTES of uploaded tars waiting for their builds; past either, 429 ' +
            'QUOTA_EXCEEDED, and nothing is stored or queued. Joining an identical build and replaying a key do not count.',
          headers: Type.Object({
            'idempotency-key': Type.Optional(Type.String({ description: 'Makes retries of this request safe (IETF httpapi draft)' }))
          }),
          querystring: Type.Object(
            {
              options: Type.Optional(
                Type.String({
                  description: 'With a gzipped tar as the body: the build options (BuildUploadOptions) as JSON. Default: {}.',
                  examples: ['{"image":"localhost:5000/team/app","tags":["ci-42"]}']
                })
              )
            },
            { additionalProperties: false }
          ),
          body: {
            content: {
              'application/json': { schema: Type.Ref(BuildRequestSchema) },
              ...Object.fromEntries(TAR_GZIP_TYPES.map((type) => [type, { schema: TarGzipBody }])),
              'multipart/form-data': {
                schema: Type.Object({
                  options: Type.Optional(Type.String({ description: 'The build options (BuildUploadOptions) as JSON. Default: {}.' })),
                  source: TarGzipBody
                })
              }
            }
          },
          response: { 202: Type.Ref(BuildSchema), ...errors(400, 409, 410, 413, 415, 422, 503) }
        }
      },
      async (request, reply) => {
        const key = request.headers['idempotency-key']
        const idempotencyKey = key === undefined ? undefined : parseIdempotencyKey(key)
        const { options } = request.query
        const submit = { ...senderOf(request), idempotencyKey }
        let submission
        if (isUpload(request)) {
          const uploaded = await readUploadRequest(request, options, fastify.uploads, submit.actor, (given) => fastify.builds.vetUpload(given, submit))
          submission = await fastify.builds.submitUpload(uploaded.options, uploaded.upload, submit)
        } else {
          if (options !== undefined) throw new BodyInvalid('The query parameter options goes with an uploaded tar; a JSON body carries the options itself.')
          submission = await fastify.builds.submit(request.body as BuildRequest, submit)
        }
        const { build, replayed, joined } = submission
        if (replayed) reply.header('idempotent-replayed', 'true')
        if (joined) reply.header('slipway-joined', 'true')
        return reply.code(202).header('location', build.links.self).send(build)
      }
    )
  })

  fastify.post(
    '/builds/:id/cancel',
    {
      config: { scope: 'builds:write' },
      schema: {
        tags: ['builds'],
        summary: 'Cancel a build',
        description:
          'A queued build is taken off the queue and ends `canceled` at once. A running one is stopped by its worker ' +
          '(git and Docker aborted, the build container removed) within seconds, then ends `canceled`. An ended build ' +
          'answers 409 BUILD_FINISHED.',
        params: BuildIdParams,
        response: { 202: Type.Ref(BuildSchema), ...errors(404, 409, 410, 503) }
      }
    },
    async (request, reply) => reply.code(202).send(await fastify.builds.cancel(request.params.id, actorOf(request)))
  )

  fastify.post(
    '/builds/:id/retry',
    {
      config: { scope: 'builds:write' },
      schema: {
        tags: ['builds'],
        summary: 'Retry an ended build',
        description:
          'Makes a new build of the same request, pinned to the commit the first one built, so the retry builds what ' +
          'failed rather than what the branch points at now. `retryOf` links the two. The retry pushes only where the ' +
          'retrying token may (403 IMAGE_NOT_ALLOWED otherwise), and imports cache only from where it may push (403 CACHE_FROM_NOT_ALLOWED), whoever made the first build.',
        params: BuildIdParams,
        response: { 202: Type.Ref(BuildSchema), ...errors(404, 409, 410, 503) }
      }
    },
    async (request, reply) => {
      const build = await fastify.builds.retry(request.params.id, senderOf(request))
      return reply.code(202).header('location', build.links.self).send(build)
    }
  )

  fastify.get(
    '/builds',
    {
      config: { scope: 'builds:read' },
      schema: {
        tags: ['builds'],
        summary: 'List builds, newest first',
        description:
          'Each item is a whole Build (`view=full`, the default: BuildList) or what a list shows of one (`view=summary`: ' +
          'BuildSummaryList, whose items are BuildSummary, a strict subset of Build: no phases, steps or image layers).\n\n' +
          'The answer carries a weak `ETag` of its body. A client that polls the list (the portal does, every few seconds) sends ' +
          'it back as `If-None-Match` and gets 304 with no body while nothing on that page has changed. A running build changes ' +
          'its phases and steps as it goes, and with them a full page; a summary page changes only when a build on it changes ' +
          'status, learns its commit, image or cache summary, or a new build arrives: poll `view=summary`.',
        headers: Type.Object({ 'if-none-match': Type.Optional(Type.String({ description: 'The ETag of a list answer seen before' })) }),
        querystring: BuildListQuerySchema,
        response: {
          200: Type.Union([Type.Ref(BuildListSchema), Type.Ref(BuildSummaryListSchema)], { description: 'BuildList with view=full (the default), BuildSummaryList with view=summary' }),
          304: Type.Null({ description: 'The page is as it was when its ETag (in If-None-Match) was given' }),
          ...errors(400, 503)
        }
      }
    },
    async (request, reply) => {
      const { status, repo, cursor, limit = 20, view = 'full' } = request.query
      const page = await fastify.builds.list({ status, repo, cursor, limit })
      // Hashing the answer saves the poller the page; the builds are read either way, as nothing
      // cheaper says whether one of them changed. A summary page is written first and tagged by
      // its bytes: what is left out of it is what must not change its tag. A full page is tagged
      // by JSON.stringify, some five times cheaper than its serializer (whose nullable fields are
      // each checked against the schema), and written only when it is sent.
      const write = reply.compileSerializationSchema(LIST_BODIES[view])
      const summary = view === 'summary' ? write(page) : undefined
      const etag = `W/"${createHash('sha256').update(summary ?? JSON.stringify(page)).digest('base64url').slice(0, 27)}"`
      reply.header('etag', etag)
      if (matchesEtag(request.headers['if-none-match'], etag)) return notModified(reply)
      return reply.type('application/json; charset=utf-8').send((summary ?? write(page)) as never)
    }
  )

  fastify.get(
    '/builds/:id',
    {
      config: { scope: 'builds:read' },
      schema: {
        tags: ['builds'],
        summary: 'Get a build: its status, phases, image and error',
        description:
          'A build that ended longer ago than SLIPWAY_RETENTION, and is not among the newest SLIPWAY_RETENTION_KEEP_LAST of its ' +
          'repository and ref, is removed by the retention sweeper; for as long again its id answers 410 BUILD_EXPIRED, then 404.\n\n' +
          'With `wait` (e.g. `30s`, `1m`, or seconds; at most 60 s, else 400 WAIT_TOO_LONG), the answer comes as soon as the ' +
          "build's status is not `status` (by default, the status it has when asked), or when the wait is over, with the build " +
          'as it is then, whichever is first: a client follows a build by asking again with the status it got, rather than polling. ' +
          'A build that has ended answers at once.\n\n' +
          'Every answer has a strong `ETag` that changes whenever anything in the build does; with `If-None-Match` naming it, ' +
          'the answer is 304 with no body (after the wait, with `wait`).',
        params: BuildIdParams,
        querystring: Type.Object(
          {
            wait: Type.Optional(Type.String({ pattern: WAIT_PATTERN, description: 'Wait up to this long for the status to change: 30s, 1m, or seconds (at most 60 s)', examples: ['30s'] })),
            status: Type.Optional(Type.Ref(BuildStatusSchema, { description: 'With wait: the status to wait out. Default: the status the build has when asked' }))
          },
          { additionalProperties: false }
        ),
        headers: Type.Object({
          'if-none-match': Type.Optional(Type.String({ description: 'The ETag of the answer the client holds: 304 if it is still the answer' }))
        }),
        response: {
          200: Type.Ref(BuildSchema, { headers: { etag: ETagHeader } }),
          304: Type.Null({ description: 'Not modified: the ETag named in If-None-Match is the answer still', headers: { etag: ETagHeader } }),
          ...errors(400, 404, 410, 503)
        }
      }
    },
    async (request, reply) => {
      const { id } = request.params
      const { wait, status } = request.query
      if (status !== undefined && wait === undefined) throw new ValidationFailed('status names the status to wait out: it goes with wait, e.g. ?wait=30s&status=running.')
      const render = reply.getSerializationFunction('200') as RenderBuild
      const answer = wait === undefined ? await fastify.buildAnswers.get(id, render) : await fastify.buildAnswers.wait(id, status, waitMs(wait), render)
      reply.header('etag', answer.etag)
      if (matchesEtag(request.headers['if-none-match'], answer.etag)) return notModified(reply)
      // Written already, by this route's own serializer (render): sent as it is.
      return reply.type('application/json; charset=utf-8').send(answer.body as never)
    }
  )
}

/** Whether If-None-Match (a list of tags, or `*`) names the ETag, compared weakly as RFC 9110 has GET compare them: `W/` ignored. */
function matchesEtag (ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '')
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag))
}

/** 304 with no body, nor a Content-Length or Content-Type of one: some clients (wrk's parser) would wait for the bytes a length names. */
function notModified (reply: FastifyReply): FastifyReply {
  return reply.code(304).send()
}
