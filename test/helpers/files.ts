import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import tar from 'tar-stream'
import type { Teardown } from './teardown.js'

/** A temp folder holding `files` (path → content); removed after the test. */
export async function tempFolder (t: Teardown, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-files-test-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true })
    await writeFile(path.join(dir, file), content)
  }
  return dir
}

export interface TarEntry {
  header: tar.Header
  content: string
}

/** Every entry of a tar stream, in order, with its content as text. */
export async function readTar (stream: AsyncIterable<unknown>): Promise<TarEntry[]> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array))
  const extract = tar.extract()
  extract.end(Buffer.concat(chunks))
  const entries: TarEntry[] = []
  for await (const item of extract) {
    const parts: Buffer[] = []
    for await (const part of item) parts.push(Buffer.from(part as Uint8Array))
    entries.push({ header: item.header, content: Buffer.concat(parts).toString('utf8') })
  }
  return entries
}
