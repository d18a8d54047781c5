import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { packageRoot } from '../../src/package-info.js'

/** The product documentation, relative to the package root: README.md and every page of docs/. */
export async function productDocs (): Promise<string[]> {
  const pages = (await readdir(path.join(packageRoot, 'docs'), { recursive: true }))
    .filter((file) => file.endsWith('.md'))
    .map((file) => path.join('docs', file))
  return ['README.md', ...pages.sort()]
}

/** Every Markdown file a reader may open: the product documentation and the notes beside the code. */
export async function allDocs (): Promise<string[]> {
  return [...(await productDocs()), 'CONTRIBUTING.md', 'bench/README.md', 'examples/hello/README.md']
}

/** The Markdown without fenced code blocks and inline code, where a "[x](y)" is not a link. */
export function withoutCode (markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '')
}

/** The targets of a Markdown file's inline links, as written. */
export function linkTargets (markdown: string): string[] {
  return [...withoutCode(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!)
}

/** The anchors GitHub gives a Markdown file's headings ("## The `slipway` command" → the-slipway-command). */
export function headingAnchors (markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
  for (const [, heading] of text.matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const slug = heading!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    anchors.add(count === 0 ? slug : `${slug}-${count}`)
  }
  return anchors
}
