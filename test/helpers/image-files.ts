import { Readable } from 'node:stream'
import type Docker from 'dockerode'
import tar from 'tar-stream'

/**
 * Every file of every layer of an image (named `LAYER/layer.tar:PATH`), its config (history,
 * labels, env) and its manifest, from `docker save`: what a search for leaked bytes goes through.
 */
export async function imageFiles (docker: Docker, imageId: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  for (const [name, bytes] of await untar(await docker.getImage(imageId).get())) {
    if (!name.endsWith('layer.tar')) {
      files.set(name, bytes)
      continue
    }
    for (const [inner, content] of await untar(Readable.from([bytes]))) files.set(`${name}:${inner}`, content)
  }
  return files
}

/** The names of the files (from imageFiles) whose bytes hold `needle`. */
export function filesHolding (files: Map<string, Buffer>, needle: Buffer): string[] {
  return [...files].filter(([, bytes]) => bytes.includes(needle)).map(([name]) => name)
}

async function untar (stream: NodeJS.ReadableStream): Promise<[string, Buffer][]> {
  const entries: [string, Buffer][] = []
  const extract = tar.extract()
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = []
      for await (const chunk of entry) chunks.push(chunk as Buffer)
      entries.push([entry.header.name, Buffer.concat(chunks)])
    }
  })()
  stream.pipe(extract)
  await done
  return entries
}
