/**
 * Base image references and their smaller variants: parses `registry/path:tag@digest` and, for
 * the official images whose size is well known (python, node, ruby, perl, php, debian, JDKs,
 * golang, rust), says which slim, alpine, JRE or distroless variant would do. It is a table of
 * Docker Hub conventions rather than Dockerfile reading, so it stands on its own.
 */

interface ImageRef {
  /** The last path component (python, node, eclipse-temurin). */
  name: string
  /** Null when pinned by digest alone. */
  tag: string | null
  official: boolean
}

function parseImageRef (reference: string): ImageRef {
  const [withoutDigest, digest] = reference.split('@') as [string, string | undefined]
  const slash = withoutDigest.lastIndexOf('/')
  const colon = withoutDigest.lastIndexOf(':')
  const hasTag = colon > slash
  const path = (hasTag ? withoutDigest.slice(0, colon) : withoutDigest).toLowerCase()
  const tag = hasTag ? withoutDigest.slice(colon + 1) : digest ? null : 'latest'
  const parts = path.split('/')
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!)) {
    const registry = parts.shift()!
    if (!/^((index|registry-1)\.)?docker\.io$/.test(registry)) {
      // Mirrors keep the library/ path (public.ecr.aws/docker/library/python, mirror.gcr.io/library/node).
      return { name: parts.at(-1)!, tag, official: parts.at(-2) === 'library' }
    }
  }
  if (parts[0] === 'library') parts.shift()
  return { name: parts.at(-1)!, tag, official: parts.length === 1 }
}

const DISTRO_CODENAMES = /-(trixie|bookworm|bullseye|buster|stretch|jessie|noble|jammy|focal|bionic)$/

/** What the per-image rules read of a tag. */
interface Tag {
  name: string
  tag: string
  /** The tag without `latest` and without a distribution codename (3.12 of 3.12-bookworm). */
  version: string
  /** Whether a word of the tag starts with this (alpine3.20, slim-bookworm, jre-jammy). */
  has: (word: string) => boolean
  /** Already a slim, alpine or distroless variant. */
  small: boolean
  /** The same version with another suffix: python:3.12-slim. */
  variant: (suffix: string) => string
}

/** One official image's smaller variant for a tag, or null when there is none to suggest. */
type VariantRule = (tag: Tag) => string | null

const slimOrAlpine: VariantRule = ({ small, variant }) => (small ? null : `${variant('slim')} (or ${variant('alpine')})`)

const VARIANTS = new Map<string, VariantRule>([
  ['python', slimOrAlpine],
  ['node', slimOrAlpine],
  ['ruby', slimOrAlpine],
  ['perl', ({ small, variant }) => (small ? null : variant('slim'))],
  ['php', php],
  ['debian', ({ tag, small }) => (small || /backports/.test(tag) ? null : tag === 'latest' ? 'debian:stable-slim' : `debian:${tag}-slim`)],
  ['openjdk', openjdk],
  ['eclipse-temurin', temurin],
  ['golang', () => 'a builder stage (FROM golang AS build) and a final FROM scratch or gcr.io/distroless/static with only the binary (CGO_ENABLED=0): the Go toolchain is hundreds of MB'],
  ['rust', () => 'a builder stage (FROM rust AS build) and a final gcr.io/distroless/cc (or debian:bookworm-slim) with only the binary: the Rust toolchain is over a GB']
])

/** The smaller variant of the final stage's base image, or null when it is already small or unknown. */
export function smallerVariant (reference: string): { current: string; suggestion: string } | null {
  const ref = parseImageRef(reference)
  if (!ref.official || ref.tag === null || /windowsservercore|nanoserver/.test(ref.tag)) return null
  const suggestion = VARIANTS.get(ref.name)?.(readTag(ref.name, ref.tag)) ?? null
  return suggestion === null ? null : { current: `${ref.name}:${ref.tag}`, suggestion }
}

function readTag (name: string, tag: string): Tag {
  const words = tag.toLowerCase().split('-')
  const has = (word: string): boolean => words.some((w) => w.startsWith(word))
  const version = tag === 'latest' ? '' : tag.replace(DISTRO_CODENAMES, '')
  const variant = (suffix: string): string => `${name}:${version ? `${version}-${suffix}` : suffix}`
  return { name, tag, version, has, small: has('slim') || has('alpine') || /distroless/.test(tag), variant }
}

function php ({ name, version, has, variant }: Tag): string | null {
  if (has('alpine')) return null
  // The apache variant has no Alpine build: php-fpm on Alpine is the small way to serve PHP.
  if (has('apache')) return `${name}:${version.replace(/apache/, 'fpm')}-alpine behind a separate web server (the apache variant has no Alpine build)`
  return variant('alpine')
}

/** openjdk is deprecated: its replacement's JRE. */
function openjdk ({ tag, has }: Tag): string | null {
  if (has('jre')) return null
  const major = /^\d+/.exec(tag)?.[0]
  return `eclipse-temurin:${major ?? '<version>'}-jre${has('alpine') ? '-alpine' : ''} (a JRE; the openjdk image is deprecated)`
}

function temurin ({ tag, has }: Tag): string | null {
  if (has('jre')) return null
  const jre = /jdk/.test(tag) ? tag.replace(/jdk/, 'jre') : /^\d[\w.+]*/.test(tag) ? tag.replace(/^(\d[\w.+]*)/, '$1-jre') : 'jre'
  return `eclipse-temurin:${jre} (the JRE, without the compiler)`
}
