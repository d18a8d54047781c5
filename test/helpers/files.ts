import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import tar from 'tar-stream'
import type { Teardown } from './teardown.js'

/**
 * A new folder under the OS temp dir, holding `files` (path → content), removed when `t` ends (a
 * tap test, or bench's scope). The one way tests and helpers make a temporary folder besides tap's
 * own `t.testdir()`, which suits a test's one folder of plain files; this one is for the rest:
 * several folders in one test, helpers that bench/ uses too (no tap there), and git's
 * repositories and workspaces, which must not lie inside Slipway's own checkout (git would find
 * that repository from any folder in it that is not one itself).
 *
 * Like `t.testdir()`'s, the folder stays when tap is asked to keep fixtures (`--save-fixture`,
 * TAP_SAVE_FIXTURE=1: `t.saveFixture`), for a look at what a failed test left. With `t` null it
 * is the caller's to remove: a test daemon's, which goes only once the daemon has stopped and
 * nothing is mounted under it. `prefix` starts its name (what finds the folders of a run that died).
 */
export async function tempFolder (t: (Teardown & { saveFixture?: boolean }) | null, files: Record<string, string> = {}, prefix = 'slipway-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  if (t && !t.saveFixture) t.teardown(() => rm(dir, { recursive: true, force: true }))
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
