import { createHash } from 'node:crypto'
import path from 'node:path'
import { Readable, type Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import ignoreModule from '@balena/dockerignore'
import tar from 'tar-stream'
import { BuildFailure } from '../domain/builds/build-failure.js'
import { resolveInTree, type SourceTree, type TreeEntry } from './source-tree.js'

// The package is CommonJS (module.exports = factory) while its types declare a default export.
const dockerignore = ignoreModule as unknown as typeof ignoreModule.default

/** One file, folder or symlink of the context, as it goes into the tar. */
interface ContextEntry {
  /** Its path in the tar, relative to the context. */
  name: string
  /** Where it is in the source; null for a file of ours. */
  source: TreeEntry | null
  type: TreeEntry['type']
  mode: number
  size: number
  linkname?: string
  /** The content of a file of ours (our .dockerignore when the Dockerfile is added under another name). */
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
 * repository: the context and Dockerfile must resolve inside it.
 */
export async function planContext (input: {
  tree: SourceTree
  context: string
  dockerfile: string
  /** Send the checkout's .git folder too; without it the context is the tree at the commit. */
  keepGitDir?: boolean
  signal: AbortSignal
}): Promise<ContextPlan> {
  const { tree } = input
  const contextDir = await resolveInTree(tree, input.context)
  if (!contextDir) {
    throw new BuildFailure('CONTEXT_NOT_FOUND', `The context folder '${input.context}' does not exist in the repository. Set \`context\` to a folder relative to its root.`)
  }
  if (contextDir.type !== 'directory') {
    throw new BuildFailure('CONTEXT_NOT_FOUND', `The context '${input.context}' is a file, not a folder.`)
  }
  const dockerfileEntry = await resolveInTree(tree, input.dockerfile)
  if (!dockerfileEntry) throw new BuildFailure('DOCKERFILE_NOT_FOUND', await dockerfileNotFound(tree, input.dockerfile))
  if (dockerfileEntry.type !== 'file') {
    throw new BuildFailure('DOCKERFILE_NOT_FOUND', `'${input.dockerfile}' is a folder, not a Dockerfile.`)
  }

  const ignoreEntry = await tree.entry(join(contextDir.path, '.dockerignore'))
  // A .dockerignore that is a symlink could point anywhere; Docker reads it from the context tar,
  // where a link is only a link, so treat it as absent.
  const ignoreText = ignoreEntry?.type === 'file' ? (await tree.read(ignoreEntry)).toString('utf8') : null
  // A Dockerfile that is a plain file inside the context is sent where it is; any other (outside the
  // context, or reached through a symlink) is sent as a copy under a name of our own.
  const lexical = path.posix.normalize(input.dockerfile)
  const inContext = lexical === dockerfileEntry.path && isInside(contextDir.path, dockerfileEntry.path)
  const dockerfile = inContext ? relativeTo(contextDir.path, dockerfileEntry.path) : INLINE_DOCKERFILE
  const patterns = keeping(parseDockerignore(ignoreText ?? ''), inContext ? ['.dockerignore', dockerfile] : ['.dockerignore'])

  // Like `docker build <git URL>`, the repository's own .git is not part of the context: it differs
  // between clones of one commit, so sending it would bust the layer cache of every `COPY . .`.
  const skip = contextDir.path === '' && !input.keepGitDir ? new Set(['.git']) : new Set<string>()
  const entries = await walkContext(tree, contextDir.path, patterns, skip, input.signal)
  if (!inContext) {
    const listed = (ignoreText ?? '.dockerignore\n') + `\n${INLINE_DOCKERFILE}\n`
    // Ours replaces the context's own .dockerignore entry, whether that was a file or a symlink.
    const own = entries.findIndex((entry) => entry.name === '.dockerignore')
    entries.splice(own === -1 ? entries.length : own, own === -1 ? 0 : 1, fileOfOurs('.dockerignore', Buffer.from(listed)))
  }
  const dockerfileText = (await tree.read(dockerfileEntry)).toString('utf8')
  if (!inContext) entries.push(fileOfOurs(INLINE_DOCKERFILE, Buffer.from(dockerfileText)))
  const files = entries.filter((entry) => entry.type === 'file')
  return {
    entries,
    dockerfile,
    dockerfileCopied: !inContext,
    dockerfileText,
    root: { hasDockerignore: ignoreText !== null, names: (await tree.children(contextDir.path)).map(nameOf).filter((name) => !skip.has(name)) },
    files: files.length,
    bytes: files.reduce((sum, entry) => sum + entry.size, 0)
  }
}

/**
 * The planned context as a tar stream, read from the source tree as the consumer pulls it: no copy
 * of the tree or of the archive is made. A file that cannot be read destroys the stream with that
 * error. Every entry has the same time (`mtime`, the commit's), as a fresh checkout would not.
 */
export function packContext (plan: Pick<ContextPlan, 'entries'>, tree: SourceTree, mtime: Date, signal: AbortSignal): Readable {
  const pack = tar.pack()
  const add = async (entry: ContextEntry) => {
    const header: Parameters<typeof pack.entry>[0] = {
      name: entry.name,
      type: entry.type,
      mode: entry.mode,
      mtime,
      size: entry.type === 'file' ? entry.size : 0,
      ...(entry.linkname === undefined ? {} : { linkname: entry.linkname }),
      uid: 0,
      gid: 0
    }
    if (entry.type === 'file' && entry.source) {
      // tar-stream's entry is a streamx Writable, which stream.pipeline drives like a Node one.
      await tree.copy(entry.source, pack.entry(header) as unknown as Writable, signal)
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

/**
 * The planned context as files handed out one by one, for a reader that asks for each file it
 * lacks (BuildKit, through the build's session). Paths, modes and links are those of the tar.
 * A file's `version` identifies its content where that is known without reading it (git's blob
 * id, our own files' hash); `versioned` says every file has one.
 */
export function contextFiles (plan: Pick<ContextPlan, 'entries'>, tree: SourceTree, mtime: Date) {
  const byName = new Map(plan.entries.map((entry) => [entry.name, entry]))
  const entries = plan.entries.map(({ name, type, mode, size, linkname, source, content }) => {
    const version = source?.contentId ?? (content && createHash('sha256').update(content).digest('hex'))
    return { path: name, type, mode, size, ...(linkname === undefined ? {} : { linkname }), ...(version === undefined ? {} : { version }) }
  })
  return {
    entries,
    versioned: entries.every((entry) => entry.type !== 'file' || entry.version !== undefined),
    mtime,
    async copy (wanted: { path: string }, into: Writable, signal: AbortSignal): Promise<void> {
      const entry = byName.get(wanted.path)
      if (entry?.source) return tree.copy(entry.source, into, signal)
      if (!entry?.content) throw new Error(`'${wanted.path}' is no file of the context`)
      into.end(entry.content)
      await finished(into)
    }
  }
}

/** .dockerignore lines as Docker reads them: comments and blanks dropped, paths cleaned, "/" prefix removed. */
export function parseDockerignore (text: string): string[] {
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
 * `patterns` with exceptions for those of `paths` they exclude. The daemon must be able to read
 * .dockerignore and the Dockerfile even when they are excluded; it drops them from COPY itself
 * (the docker CLI does the same).
 */
export function keeping (patterns: string[], paths: string[]): string[] {
  const probe = dockerignore().add(patterns)
  return [...patterns, ...paths.filter((kept) => probe.ignores(kept)).map((kept) => `!${kept}`)]
}

/**
 * Docker's walk (moby pkg/archive TarWithOptions): an excluded folder is skipped whole unless an
 * exception pattern starts with its path, in which case it is walked but not itself added.
 * `skip` names entries left out whatever the patterns say.
 */
export async function walkContext (tree: SourceTree, contextDir: string, patterns: string[], skip: Set<string>, signal: AbortSignal): Promise<ContextEntry[]> {
  const matcher = dockerignore().add(patterns)
  const exceptions = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1))
  const entries: ContextEntry[] = []

  async function visit (relative: string): Promise<void> {
    signal.throwIfAborted()
    for (const found of await tree.children(join(contextDir, relative))) {
      const rel = relativeTo(contextDir, found.path)
      if (skip.has(rel)) continue
      const excluded = matcher.ignores(rel)
      if (found.type === 'directory') {
        if (!excluded) entries.push(entryOf(rel, found))
        if (!excluded || exceptions.some((exception) => `${exception}/`.startsWith(`${rel}/`))) await visit(rel)
      } else if (!excluded) {
        entries.push(entryOf(rel, found))
      }
    }
  }
  await visit('')
  return entries
}

function entryOf (name: string, source: TreeEntry): ContextEntry {
  return { name, source, type: source.type, mode: source.mode, size: source.size, ...(source.linkname === undefined ? {} : { linkname: source.linkname }) }
}

function fileOfOurs (name: string, content: Buffer): ContextEntry {
  return { name, source: null, type: 'file', mode: 0o644, size: content.length, content }
}

const join = (dir: string, name: string) => (dir && name ? `${dir}/${name}` : dir || name)
const nameOf = (entry: TreeEntry) => entry.path.slice(entry.path.lastIndexOf('/') + 1)
const relativeTo = (dir: string, entryPath: string) => (dir ? entryPath.slice(dir.length + 1) : entryPath)
const isInside = (dir: string, entryPath: string) => dir === '' || entryPath.startsWith(`${dir}/`)

async function dockerfileNotFound (tree: SourceTree, wanted: string): Promise<string> {
  const found = await findDockerfiles(tree)
  const hint = found.length > 0 ? ` Dockerfiles in the repository: ${found.join(', ')}.` : ' The repository has no file named like a Dockerfile.'
  return `No Dockerfile at '${wanted}'.${hint} Set \`dockerfile\` to its path relative to the repository root.`
}

async function findDockerfiles (tree: SourceTree, relative = '', depth = 0): Promise<string[]> {
  const found: string[] = []
  for (const entry of await tree.children(relative)) {
    const name = nameOf(entry)
    if (entry.type === 'file' && /^(Dockerfile|Containerfile)(\..+)?$|\.[Dd]ockerfile$/.test(name)) found.push(entry.path)
    else if (entry.type === 'directory' && name !== '.git' && depth < 3) found.push(...(await findDockerfiles(tree, entry.path, depth + 1)))
    if (found.length >= 5) break
  }
  return found.slice(0, 5)
}
