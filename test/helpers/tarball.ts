import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import tar from 'tar-stream'

export type TarEntrySpec = Partial<tar.Header> & { name: string; content?: string | Buffer }

/**
 * A gzipped tar holding exactly these entries, headers as given: for tars no honest `tar` makes
 * (absolute paths, "..", links leading out, devices).
 */
export async function tarGz (entries: TarEntrySpec[]): Promise<Buffer> {
  return gzipSync(await tarOf(entries))
}

/** The same, not compressed. */
export async function tarOf (entries: TarEntrySpec[]): Promise<Buffer> {
  const pack = tar.pack()
  // Read as it is written: a large entry would otherwise wait for room forever.
  const chunks: Buffer[] = []
  const read = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer)
  })()
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve())
      if (content === undefined) pack.entry({ mode: 0o644, ...header }, done)
      else pack.entry({ mode: 0o644, ...header }, content, done)
    })
  }
  pack.finalize()
  await read
  return Buffer.concat(chunks)
}

/** A folder packed as a person would: `tar -czf - -C dir .` (GNU tar). */
export async function packDir (dir: string): Promise<Buffer> {
  const { stdout } = await promisify(execFile)('tar', ['-czf', '-', '-C', dir, '.'], { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 })
  return stdout
}

/** A multipart/form-data body as fetch would send it: its bytes and its Content-Type (with the boundary). */
export async function formBody (fields: Record<string, string | { file: Buffer; filename: string }>): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string') form.append(name, value)
    else form.append(name, new Blob([value.file], { type: 'application/gzip' }), value.filename)
  }
  const request = new Request('http://localhost/', { method: 'POST', body: form })
  return { body: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get('content-type')! }
}
