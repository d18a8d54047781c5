import { printable } from '../builds/repo-url.js'
import { UploadUnsafe } from '../errors.js'

// Linux's limit on the symlinks one path lookup follows (MAXSYMLINKS): past it, the lookup fails.
const MAX_LINKS_FOLLOWED = 40

/** A folder or link on the way to some link of the tar; only links and their folders are kept. */
interface LinkNode {
  path: string
  parent: LinkNode | null
  children: Map<string, LinkNode>
  /** Set when this path is itself a link. */
  target?: string
}

/**
 * Where a path leads: a node of the tree, plus how many folders below it the path goes that hold
 * no link (their names never matter again: no link can lie under them).
 */
interface Place {
  node: LinkNode
  below: number
}

/**
 * The symlinks of a tar, to check each on the path it resolves to, as the kernel would follow it
 * once every entry is unpacked: a link is judged by where the links it passes through lead, and a
 * later link can change where an earlier one leads (`a/x -> y/../..` is harmless until
 * `a/y -> ..` arrives), so the links are checked together once the tar has ended.
 */
export function createTarLinks () {
  const root: LinkNode = { path: '', parent: null, children: new Map() }
  const links: LinkNode[] = []

  const nodeAt = (path: string): LinkNode => {
    let node = root
    for (const part of path.split('/')) {
      let child = node.children.get(part)
      if (!child) {
        child = { path: node === root ? part : `${node.path}/${part}`, parent: node, children: new Map() }
        node.children.set(part, child)
      }
      node = child
    }
    return node
  }

  return {
    add (path: string, target: string): void {
      const node = nodeAt(path)
      if (node.target === undefined) links.push(node)
      node.target = target
    },
    /** The link an entry at `path` would be written through, if one of its folders is a link so far. */
    linkAbove (path: string): string | undefined {
      let node = root
      for (const part of path.split('/').slice(0, -1)) {
        const child = node.children.get(part)
        if (!child) return undefined
        if (child.target !== undefined) return child.path
        node = child
      }
      return undefined
    },
    /** Throws UPLOAD_UNSAFE for the first link that leads out of the root, into a loop, or through too many links. */
    checkAll (): void {
      const resolve = linkResolver(root)
      for (const link of links) resolve(link)
    }
  }
}

/** Where each link leads, each worked out once (links share the links they pass through). */
function linkResolver (root: LinkNode) {
  const landings = new Map<LinkNode, Place & { followed: number }>()
  // The links being resolved, outermost first: a link met again is a loop.
  const resolving: LinkNode[] = []

  const landing = (link: LinkNode): Place & { followed: number } => {
    const known = landings.get(link)
    if (known) return known
    if (resolving.includes(link)) throw unsafe(link.path, 'is a symlink in a loop of symlinks')
    if (resolving.length >= MAX_LINKS_FOLLOWED) throw unsafe(resolving[0]!.path, `is a symlink through more than ${MAX_LINKS_FOLLOWED} symlinks`)
    resolving.push(link)
    const target = link.target!
    let node = root
    let below = 0
    let followed = 0
    const through: string[] = []
    // The link's own folder is a path too: a link among its folders is followed like any other.
    for (const part of [...link.path.split('/').slice(0, -1), ...target.split('/')]) {
      if (part === '' || part === '.') continue
      if (part === '..') {
        if (below > 0) below -= 1
        else if (node.parent) node = node.parent
        else throw unsafe(link.path, `is a symlink leading out of the upload (to '${printable(target)}'${throughWhat(through)})`)
        continue
      }
      const child = below === 0 ? node.children.get(part) : undefined
      if (!child) below += 1
      else if (child.target === undefined) node = child
      else {
        const next = landing(child)
        followed += 1 + next.followed
        if (followed >= MAX_LINKS_FOLLOWED) throw unsafe(link.path, `is a symlink through more than ${MAX_LINKS_FOLLOWED} symlinks`)
        through.push(child.path)
        node = next.node
        below = next.below
      }
    }
    resolving.pop()
    const result = { node, below, followed }
    landings.set(link, result)
    return result
  }
  return landing
}

const throughWhat = (links: string[]) => (links.length === 0 ? '' : `, through '${links.map(printable).join("', '")}'`)

/** UPLOAD_UNSAFE for an entry. Names and link targets come from the tar: shown escaped, never as raw control characters. */
export const unsafe = (name: string, why: string) => new UploadUnsafe(printable(name), why)
