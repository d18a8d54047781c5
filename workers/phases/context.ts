import { createReadStream } from 'node:fs'
import { lstat, readdir, readFile, readlink, realpath, stat } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import ignoreModule from '@balena/dockerignore'
import tar from 'tar-stream'
import { BuildFailure } from '../build-failure.js'

// The package is CommonJS (module.exports = factory) while its types declare a default export.
const dockerignore = ignoreModule as unknown as typeof ignoreModule.default

/** One file, folder or symlink of the context, as it goes into the tar. */
interface ContextEntry {
  name: string
  absolutePath: string
  type: 'file' | 'directory' | 'symlink'
  mode: number
  size: number
  mtime: Date
  linkname?: string
  /** Replaces the file's content (our .dockerignore when the Dockerfile is added under another name). */
  content?: Buffer
}

export interface ContextPlan {
  entries: ContextEntry[]
  /** The Dockerfile's path inside the tar, for the Engine API's `dockerfile` parameter. */
  dockerfile: string
  /**
   * The Dockerfile was outside the context (or reached through a symlink) and travels as a copy.
   * Only the classic builder keeps such a copy out of COPY; BuildKit would see it as a file.
   */
  dockerfileCopied: boolean
  /** The Dockerfile's text, for the size advisor. */
  dockerfileText: string
  /** What the advisor asks of the context: whether it has a .dockerignore, and what its root holds before it. */
  root: { hasDockerignore: boolean; names: string[] }
  files: number
  bytes: number
}

// Where a Dockerfile from outside the context goes in the tar; like the docker CLI, we list it in
// .dockerignore so the classic builder's daemon keeps it out of COPY.
const INLINE_DOCKERFILE = '.dockerfile.slipway'

/**
 * Decides what the build context holds, as `docker build` would send it: the context folder minus
 * what .dockerignore excludes, symlinks kept as links, owner root. Nothing is read outside the
 * clone: the context and Dockerfile must resolve inside it.
 */
export async function planContext(input: {
  cloneDir: string
  context: string
  dockerfile: string
  /** Send the clone's .git folder too; without it the context is the tree at the commit. */
  keepGitDir?: boolean
  signal: AbortSignal
}): Promise<ContextPlan> {
  const root = await realpath(input.cloneDir)
  const contextDir = await resolveInside(root, input.context).catch(() => {
    throw new BuildFailure('CONTEXT_NOT_FOUND', `The context folder '${input.context}' does not exist in the repository. Set \`context\` to a folder relative to its root.`)
  })
  if (!(await stat(contextDir)).isDirectory()) {
    throw new BuildFailure('CONTEXT_NOT_FOUND', `The context '${input.context}' is a file, not a folder.`)
  }
  const dockerfilePath = await resolveInside(root, input.dockerfile).catch(async () => {
    throw new BuildFailure('DOCKERFILE_NOT_FOUND', await dockerfileNotFound(root, input.dockerfile))
  })
  if (!(await stat(dockerfilePath)).isFile()) {
    throw new BuildFailure('DOCKERFILE_NOT_FOUND', `'${input.dockerfile}' is a folder, not a Dockerfile.`)
  }

  const ignoreFile = path.join(contextDir, '.dockerignore')
  const ignoreText = await readIgnoreFile(ignoreFile)
  const patterns = parseDockerignore(ignoreText ?? '')
  // A Dockerfile that is a plain file inside the context is sent where it is; any other (outside the
  // context, or reached through a symlink) is sent as a copy under a name of our own.
  const lexical = path.join(root, input.dockerfile)
  const inContext = lexical === dockerfilePath && isInside(contextDir, dockerfilePath)
  const dockerfile = inContext ? path.relative(contextDir, dockerfilePath).split(path.sep).join('/') : INLINE_DOCKERFILE

  // The daemon must be able to read .dockerignore and the Dockerfile even when they are excluded;
  // it drops them from COPY itself (the docker CLI does the same).
  const probe = dockerignore().add(patterns)
  if (probe.ignores('.dockerignore')) patterns.push('!.dockerignore')
  if (inContext && probe.ignores(dockerfile)) patterns.push(`!${dockerfile}`)

  // Like `docker build <git URL>`, the repository's own .git is not part of the context: it differs
  // between clones of one commit, so sending it would bust the layer cache of every `COPY . .`.
  const skip = contextDir === root && !input.keepGitDir ? new Set(['.git']) : new Set<string>()
  const entries = await walkContext(contextDir, patterns, skip, input.signal)
  if (!inContext) {
    const listed = (ignoreText ?? '.dockerignore\n') + `\n${INLINE_DOCKERFILE}\n`
    // Ours replaces the context's own .dockerignore entry, whether that was a file or a symlink.
    const own = entries.findIndex((entry) => entry.name === '.dockerignore')
    entries.splice(own === -1 ? entries.length : own, own === -1 ? 0 : 1, syntheticFile(contextDir, '.dockerignore', Buffer.from(listed)))
  }
  const dockerfileText = await readFile(dockerfilePath, 'utf8')
  if (!inContext) entries.push(syntheticFile(contextDir, INLINE_DOCKERFILE, Buffer.from(dockerfileText)))
  const files = entries.filter((entry) => entry.type === 'file')
  return {
    entries,
    dockerfile,
    dockerfileCopied: !inContext,
    dockerfileText,
    root: { hasDockerignore: ignoreText !== null, names: (await readdir(contextDir)).filter((name) => !skip.has(name)) },
    files: files.length,
    bytes: files.reduce((sum, entry) => sum + entry.size, 0)
  }
}

/**
 * The planned context as a tar stream, read from disk as the consumer pulls it. A file that
 * cannot be read destroys the stream with that error.
 */
export function packContext(plan: ContextPlan, signal: AbortSignal): Readable {
  const pack = tar.pack()
  const add = async (entry: ContextEntry) => {
    const header: Parameters<typeof pack.entry>[0] = {
      name: entry.name,
      type: entry.type,
      mode: entry.mode,
      mtime: entry.mtime,
      size: entry.type === 'file' ? entry.size : 0,
      ...(entry.linkname === undefined ? {} : { linkname: entry.linkname }),
      uid: 0,
      gid: 0
    }
    if (entry.type === 'file' && !entry.content) {
      await pipeline(createReadStream(entry.absolutePath, { signal }), pack.entry(header))
      return
    }
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve())
      if (entry.content) pack.entry(header, entry.content, done)
      else pack.entry(header, done)
    })
  }
  ;(async () => {
    for (const entry of plan.entries) {
      signal.throwIfAborted()
      await add(entry)
    }
    pack.finalize()
  })().catch((error: unknown) => pack.destroy(error as Error))
  // tar-stream speaks streamx; dockerode pipes Node streams.
  return Readable.from(pack)
}

/** .dockerignore lines as Docker reads them: comments and blanks dropped, paths cleaned, "/" prefix removed. */
export function parseDockerignore(text: string): string[] {
  const patterns: string[] = []
  for (const [index, rawLine] of text.split(/\r?\n/).entries()) {
    const line = index === 0 ? rawLine.replace(/^\uFEFF/, '') : rawLine
    if (line.startsWith('#')) continue
    let pattern = line.trim()
    if (!pattern) continue
    const exclusion = pattern.startsWith('!')
    if (exclusion) pattern = pattern.slice(1).trim()
    if (pattern) {
      pattern = path.posix.normalize(pattern).replace(/\/+$/, '') || '/'
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1)
    }
    patterns.push(exclusion ? `!${pattern}` : pattern)
  }
  return patterns
}

/**
 * Docker's walk (moby pkg/archive TarWithOptions): an excluded folder is skipped whole unless an
 * exception pattern starts with its path, in which case it is walked but not itself added.
 */
async function walkContext(contextDir: string, patterns: string[], skip: Set<string>, signal: AbortSignal): Promise<ContextEntry[]> {
  const matcher = dockerignore().add(patterns)
  const exceptions = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1))
  const entries: ContextEntry[] = []

  async function visit(relative: string): Promise<void> {
    signal.throwIfAborted()
    const names = (await readdir(path.join(contextDir, relative))).sort()
    for (const name of names) {
      const rel = relative ? `${relative}/${name}` : name
      if (skip.has(rel)) continue
      const absolutePath = path.join(contextDir, rel)
      const info = await lstat(absolutePath)
      const excluded = matcher.ignores(rel)
      if (info.isDirectory()) {
        if (!excluded) entries.push(entryOf(rel, absolutePath, 'directory', info))
        if (!excluded || exceptions.some((exception) => `${exception}/`.startsWith(`${rel}/`))) await visit(rel)
      } else if (!excluded && info.isSymbolicLink()) {
        entries.push({ ...entryOf(rel, absolutePath, 'symlink', info), linkname: await readlink(absolutePath) })
      } else if (!excluded && info.isFile()) {
        entries.push(entryOf(rel, absolutePath, 'file', info))
      }
    }
  }
  await visit('')
  return entries
}

function entryOf(name: string, absolutePath: string, type: ContextEntry['type'], info: { mode: number; size: number; mtime: Date }): ContextEntry {
  return { name, absolutePath, type, mode: info.mode & 0o7777, size: type === 'file' ? info.size : 0, mtime: info.mtime }
}

function syntheticFile(contextDir: string, name: string, content: Buffer): ContextEntry {
  return { name, absolutePath: path.join(contextDir, name), type: 'file', mode: 0o644, size: content.length, mtime: new Date(), content }
}

/** The real path of `relative` under `root`; rejects when it is missing or a symlink leads outside. */
async function resolveInside(root: string, relative: string): Promise<string> {
  const resolved = await realpath(path.join(root, relative))
  if (!isInside(root, resolved)) throw new Error(`${relative} resolves outside the repository`)
  return resolved
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root + path.sep)
}

async function readIgnoreFile(file: string): Promise<string | null> {
  const info = await lstat(file).catch(() => null)
  // A .dockerignore that is a symlink could point anywhere; Docker reads it from the context tar,
  // where a link is only a link, so treat it as absent.
  return info?.isFile() ? readFile(file, 'utf8') : null
}

async function dockerfileNotFound(root: string, wanted: string): Promise<string> {
  const found = await findDockerfiles(root)
  const hint = found.length > 0 ? ` Dockerfiles in the repository: ${found.join(', ')}.` : ' The repository has no file named like a Dockerfile.'
  return `No Dockerfile at '${wanted}'.${hint} Set \`dockerfile\` to its path relative to the repository root.`
}

async function findDockerfiles(root: string, relative = '', depth = 0): Promise<string[]> {
  const found: string[] = []
  const dirents = await readdir(path.join(root, relative), { withFileTypes: true }).catch(() => [])
  for (const dirent of dirents.sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = relative ? `${relative}/${dirent.name}` : dirent.name
    if (dirent.isFile() && /^(Dockerfile|Containerfile)(\..+)?$|\.[Dd]ockerfile$/.test(dirent.name)) found.push(rel)
    else if (dirent.isDirectory() && dirent.name !== '.git' && depth < 3) found.push(...(await findDockerfiles(root, rel, depth + 1)))
    if (found.length >= 5) break
  }
  return found.slice(0, 5)
}
