import type { Readable } from 'node:stream'
import type { Multipart } from '@fastify/multipart'
import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { printable } from '../domain/builds/repo-url.js'
import { BodyInvalid, ValidationFailed } from '../domain/errors.js'
import type { Actor } from '../domain/schemas/audit.js'
import { BuildUploadOptionsSchema, type BuildUploadOptions } from '../domain/schemas/build.js'
import type { StoredUpload, UploadStore } from '../storage/upload-store.js'

/** The media types of a gzipped tar sent as the body itself. */
export const TAR_GZIP_TYPES = ['application/gzip', 'application/x-gzip']

const FORM_FIELDS = "the field 'options' (the build options as JSON) and the file 'source' (the gzipped tar)"

/** Whether a POST /v1/builds uploads its source (rather than naming a repository in JSON). */
export function isUpload (request: FastifyRequest): boolean {
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  return TAR_GZIP_TYPES.includes(mediaType) || request.isMultipart()
}

export interface UploadRequest {
  options: BuildUploadOptions
  upload: StoredUpload
}

/**
 * The options and the stored tar of a POST /v1/builds that uploads its source: either a gzipped
 * tar as the body, with the options as JSON in the query parameter `options`, or a multipart
 * form with the field `options` and the file `source`. Options are checked as a JSON body's are,
 * then by `vet`, before the tar is read when they come first.
 */
export async function readUploadRequest (
  request: FastifyRequest,
  optionsParam: string | undefined,
  uploads: UploadStore,
  actor: Actor,
  vet: (options: BuildUploadOptions) => Promise<void>
): Promise<UploadRequest> {
  const checked = async (text: string) => {
    const options = parseOptions(request, text)
    await vet(options)
    return options
  }
  if (request.isMultipart()) {
    if (optionsParam !== undefined) throw new BodyInvalid(`A form carries the options itself: send ${FORM_FIELDS}, and no options in the query.`)
    return readForm(request, uploads, actor, checked)
  }
  const options = await checked(optionsParam ?? '{}')
  const declared = request.headers['content-length']
  const upload = await uploads.receive(request.body as Readable, { declaredBytes: declared === undefined ? undefined : Number(declared), actor })
  return { options, upload }
}

async function readForm (request: FastifyRequest, uploads: UploadStore, actor: Actor, checked: (text: string) => Promise<BuildUploadOptions>): Promise<UploadRequest> {
  let options: BuildUploadOptions | undefined
  let upload: StoredUpload | undefined
  try {
    for await (const part of formParts(request)) {
      if (part.type === 'field' && part.fieldname === 'options' && options === undefined) {
        options = await checked(String(part.value))
      } else if (part.type === 'file' && part.fieldname === 'source' && upload === undefined) {
        upload = await uploads.receive(part.file, { actor })
      } else {
        throw new BodyInvalid(`The form's ${part.type} '${printable(part.fieldname)}' is not expected: send ${FORM_FIELDS}, once each.`)
      }
    }
    if (upload === undefined) throw new BodyInvalid(`The form has no file 'source': send ${FORM_FIELDS}.`)
    return { options: options ?? {}, upload }
  } catch (error) {
    if (upload) await uploads.discard(upload.id).catch(() => undefined)
    throw error
  }
}

/** The form's parts; a form that cannot be read is the sender's to fix. */
async function * formParts (request: FastifyRequest): AsyncGenerator<Multipart> {
  try {
    for await (const part of request.parts()) yield part
  } catch (error) {
    throw new BodyInvalid(`The multipart form could not be read (${(error as Error).message}); send ${FORM_FIELDS}.`)
  }
}

const OptionsRef = Type.Ref(BuildUploadOptionsSchema)

/** The options as JSON, refused exactly as a JSON body would be (VALIDATION_FAILED, with details per field). */
function parseOptions (request: FastifyRequest, text: string): BuildUploadOptions {
  let options: unknown
  try {
    options = JSON.parse(text)
  } catch (error) {
    throw new BodyInvalid(`The options are not valid JSON (${(error as Error).message}); give them as a JSON object, like {"image": "registry.example.com/team/app"}.`)
  }
  const validate = request.compileValidationSchema(OptionsRef, 'body')
  if (!validate(options)) {
    throw Object.assign(new ValidationFailed('The options are invalid.'), { validation: validate.errors, validationContext: 'options' })
  }
  return options as BuildUploadOptions
}
