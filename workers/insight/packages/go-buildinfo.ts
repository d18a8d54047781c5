import type { ContentKeeper } from '../image-archive.js'

// The build information the Go linker writes into every binary since Go 1.13, as
// src/debug/buildinfo/buildinfo.go reads it (Go 1.18+): a 32-byte header, 16-byte aligned in the
// data segment, starting with this magic, then the pointer size (byte 14) and flags (byte 15).
// With flag 2 ("inline strings", Go 1.18+) two uvarint-length-prefixed strings follow the header:
// the Go version, then the module information, wrapped in 16-byte sentinels. Older binaries hold
// pointers to the strings instead, which would need the executable's sections: they are skipped.
const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1')
const HEADER_BYTES = 32
const FLAGS_INLINE_STRINGS = 2
// Enough for the version and a module list of a few thousand dependencies.
const WINDOW_BYTES = 512 * 1024

/**
 * Watches an executable's bytes stream by for the build-info header and keeps the window that
 * starts at it; nothing when the file has none (or only the pre-1.18 format).
 */
export function goBuildInfoKeeper (): ContentKeeper {
  // The last bytes of the previous chunk, in case a header straddles two chunks.
  let tail = Buffer.alloc(0)
  let kept: Buffer[] | undefined
  let keptBytes = 0
  return {
    write (chunk) {
      if (kept) {
        if (keptBytes < WINDOW_BYTES) {
          const part = Buffer.from(chunk.subarray(0, WINDOW_BYTES - keptBytes))
          kept.push(part)
          keptBytes += part.length
        }
        return
      }
      const data = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk
      for (let from = 0; ;) {
        const at = data.indexOf(MAGIC, from)
        if (at === -1 || data.length < at + 16) {
          // Keep what could be the start of a header.
          tail = Buffer.from(data.subarray(at === -1 ? Math.max(from, data.length - 15) : at))
          return
        }
        const pointerSize = data[at + 14]
        const flags = data[at + 15] ?? 0
        if ((pointerSize === 4 || pointerSize === 8) && (flags & FLAGS_INLINE_STRINGS) !== 0) {
          const part = Buffer.from(data.subarray(at, at + WINDOW_BYTES))
          kept = [part]
          keptBytes = part.length
          return
        }
        // The magic as a string in some program's data (the go command itself has it), or a pre-1.18 header.
        from = at + 1
      }
    },
    end: () => (kept ? Buffer.concat(kept) : undefined)
  }
}

export interface GoModule {
  path: string
  version: string
}

/**
 * The modules of a build-info window: the main module (`mod`) and each dependency (`dep`), a
 * `=>` line replacing the one before it when it names a module version (a replacement by a local
 * folder has none, and the original stays the better name). The standard library is left out.
 */
export function goModules (window: Buffer): GoModule[] {
  if (window.length < HEADER_BYTES || !window.subarray(0, MAGIC.length).equals(MAGIC)) return []
  const version = readString(window, HEADER_BYTES)
  const modinfo = version && readString(window, version.next)
  // Go's check that the sentinels are there: the last one is preceded by a newline.
  if (!modinfo || modinfo.value.length < 33 || modinfo.value[modinfo.value.length - 17] !== 0x0a) return []
  const modules: GoModule[] = []
  for (const line of modinfo.value.subarray(16, -16).toString('utf8').split('\n')) {
    const [kind, path, moduleVersion] = line.split('\t')
    if (!path) continue
    if (kind === 'mod' || kind === 'dep') modules.push({ path, version: moduleVersion ?? '' })
    else if (kind === '=>' && moduleVersion && modules.length > 0) modules[modules.length - 1] = { path, version: moduleVersion }
  }
  return modules.filter((module) => module.version)
}

/** A uvarint-length-prefixed string at `offset`, or undefined when the window cuts it off. */
function readString (data: Buffer, offset: number): { value: Buffer; next: number } | undefined {
  let length = 0
  let shift = 0
  let at = offset
  for (;;) {
    const byte = data[at++]
    if (byte === undefined || shift > 28) return undefined
    length += (byte & 0x7f) * 2 ** shift
    shift += 7
    if (byte < 0x80) break
  }
  if (at + length > data.length) return undefined
  return { value: data.subarray(at, at + length), next: at + length }
}
