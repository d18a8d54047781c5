import t from 'tap'
import { dockerMessages, messageError, type DockerMessage } from '../../../workers/docker/json-stream.js'

async function * chunksOf (chunks: (Buffer | string)[]): AsyncGenerator<Buffer | string> {
  for (const chunk of chunks) yield chunk
}

async function collect (chunks: (Buffer | string)[]): Promise<DockerMessage[]> {
  const messages: DockerMessage[] = []
  for await (const message of dockerMessages(chunksOf(chunks))) messages.push(message)
  return messages
}

/** `text` as UTF-8 buffers of at most `size` bytes (cutting through multi-byte characters). */
function bufferChunks (text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text, 'utf8')
  const chunks: Buffer[] = []
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size))
  return chunks
}

const NOTICE = { stream: '[slipway] A progress message larger than 1 MiB was skipped.\n' }

t.test('several messages in one chunk', async (t) => {
  const text = '{"stream":"Step 1/2 : FROM busybox\\n"}\n{"status":"Pulling","id":"abc"}\n{"aux":{"ID":"sha256:123"}}\n'
  t.strictSame(await collect([Buffer.from(text)]), [
    { stream: 'Step 1/2 : FROM busybox\n' },
    { status: 'Pulling', id: 'abc' },
    { aux: { ID: 'sha256:123' } }
  ])
})

t.test('a message split across chunks', async (t) => {
  const text = '{"stream":"hello"}\n{"errorDetail":{"code":1,"message":"boom"},"error":"boom"}\n'
  const expected = [{ stream: 'hello' }, { errorDetail: { code: 1, message: 'boom' }, error: 'boom' }]
  for (const size of [1, 2, 3, 7, 19, 20, 64]) {
    t.strictSame(await collect(bufferChunks(text, size)), expected, `${size}-byte chunks`)
  }
  t.strictSame(await collect(['{"stream":', '"as strings"}\n']), [{ stream: 'as strings' }], 'string chunks too')
})

t.test('a multi-byte UTF-8 character split across chunks', async (t) => {
  const text = '{"stream":"héllo € 🐳\\n"}\n'
  const bytes = Buffer.from(text)
  for (const char of ['é', '€', '🐳']) {
    const start = bytes.indexOf(Buffer.from(char))
    for (let cut = start + 1; cut < start + Buffer.byteLength(char); cut++) {
      const messages = await collect([bytes.subarray(0, cut), bytes.subarray(cut)])
      t.strictSame(messages, [{ stream: 'héllo € 🐳\n' }], `cut inside ${char} after byte ${cut - start}`)
    }
  }
  t.strictSame(await collect(bufferChunks(text, 1)), [{ stream: 'héllo € 🐳\n' }], 'one byte at a time')
})

t.test('lines that are not JSON become stream messages; blank lines are skipped', async (t) => {
  t.strictSame(await collect(['plain text from a proxy\n', '\n', '   \n', '{"stream":"ok"}\n', '{not json\n']), [
    { stream: 'plain text from a proxy\n' },
    { stream: 'ok' },
    { stream: '{not json\n' }
  ])
  t.strictSame(await collect(['{"stream":"crlf"}\r\n  {"status":"spaced"}  \n']), [{ stream: 'crlf' }, { status: 'spaced' }])
})

t.test('the last message needs no newline', async (t) => {
  t.strictSame(await collect(['{"stream":"a"}\n{"aux":', '{"ID":"sha256:9"}}']), [{ stream: 'a' }, { aux: { ID: 'sha256:9' } }])
  t.strictSame(await collect([]), [], 'an empty body has no messages')
  t.strictSame(await collect([Buffer.from('{"stream":"€"}'), Buffer.from([])]), [{ stream: '€' }])
})

t.test('a message over 1 MiB is skipped with a notice; the ones after it still parse', async (t) => {
  const huge = JSON.stringify({ stream: 'x'.repeat(1536 * 1024) })
  const text = `{"stream":"before\\n"}\n${huge}\n{"stream":"after\\n"}\n{"aux":{"ID":"sha256:abc"}}\n`
  const messages = await collect(bufferChunks(text, 64 * 1024))
  t.strictSame(messages, [{ stream: 'before\n' }, NOTICE, { stream: 'after\n' }, { aux: { ID: 'sha256:abc' } }])
  t.ok(
    messages.every((message) => JSON.stringify(message).length < 1024),
    'no part of the huge message comes through'
  )
})

t.test('one notice per oversized message, however it arrives', async (t) => {
  const huge = `{"stream":"${'x'.repeat(2600 * 1024)}"}\n{"stream":"after"}\n`
  t.strictSame(await collect(bufferChunks(huge, 64 * 1024)), [NOTICE, { stream: 'after' }], 'in 64 KiB chunks')
  t.strictSame(await collect([huge]), [NOTICE, { stream: 'after' }], 'in one chunk, newline included')
})

t.test('a huge message at the very end is skipped too', async (t) => {
  const text = `{"stream":"before"}\n{"stream":"${'y'.repeat(1100 * 1024)}"}`
  t.strictSame(await collect(bufferChunks(text, 100 * 1024)), [{ stream: 'before' }, NOTICE])
})

t.test('a message just under 1 MiB is kept', async (t) => {
  const stream = 'z'.repeat(1024 * 1024 - 32)
  const text = `${JSON.stringify({ stream })}\n{"stream":"next"}\n`
  const messages = await collect(bufferChunks(text, 64 * 1024))
  t.equal(messages.length, 2)
  t.equal(messages[0]?.stream, stream)
  t.strictSame(messages[1], { stream: 'next' })
})

t.test('messageError: how the Engine API reports a failure', async (t) => {
  const cases: [DockerMessage, string | undefined][] = [
    [{ error: 'denied' }, 'denied'],
    [{ errorDetail: { message: 'manifest unknown' } }, 'manifest unknown'],
    [{ error: 'top', errorDetail: { code: 1, message: 'detail' } }, 'top'],
    [{ errorDetail: { code: 1 } }, undefined],
    [{ stream: 'error: this is just output\n' }, undefined],
    [{ status: 'Pushed', id: 'abc' }, undefined],
    [{}, undefined]
  ]
  for (const [message, expected] of cases) t.equal(messageError(message), expected, JSON.stringify(message))
})
