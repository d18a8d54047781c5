import { StringDecoder } from 'node:string_decoder'

/** One message of the Engine API's JSON progress streams (build and push). */
export interface DockerMessage {
  stream?: string
  status?: string
  id?: string
  progress?: string
  /** An object for image ids and push digests; base64 protobuf in BuildKit's trace messages. */
  aux?: string | { ID?: string; Digest?: string; Tag?: string; Size?: number }
  error?: string
  errorDetail?: { code?: number; message?: string }
}

const MAX_MESSAGE_CHARS = 1024 * 1024

/**
 * Reads the newline-delimited JSON the Engine API streams, one message at a time and with bounded
 * memory: a message larger than 1 MiB is skipped whole, not buffered.
 */
export async function * dockerMessages (body: AsyncIterable<Buffer | string>): AsyncGenerator<DockerMessage> {
  const decoder = new StringDecoder('utf8')
  let partial = ''
  // True while discarding the rest of an oversized message, up to its newline.
  let skipping = false
  for await (const chunk of body) {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk)
    while (text) {
      const newline = text.indexOf('\n')
      if (!skipping) partial += newline === -1 ? text : text.slice(0, newline)
      text = newline === -1 ? '' : text.slice(newline + 1)
      if (partial.length > MAX_MESSAGE_CHARS) {
        partial = ''
        skipping = true
        yield { stream: '[slipway] A progress message larger than 1 MiB was skipped.\n' }
      }
      if (newline === -1) continue
      const message = skipping ? undefined : parse(partial)
      partial = ''
      skipping = false
      if (message) yield message
    }
  }
  const message = skipping ? undefined : parse(partial + decoder.end())
  if (message) yield message
}

function parse (line: string): DockerMessage | undefined {
  const trimmed = line.trim()
  if (!trimmed) return undefined
  try {
    return JSON.parse(trimmed) as DockerMessage
  } catch {
    return { stream: `${trimmed}\n` }
  }
}

/** The message's error text, if it reports one: how the Engine API says a build or push failed. */
export function messageError (message: DockerMessage): string | undefined {
  return message.error ?? message.errorDetail?.message
}
