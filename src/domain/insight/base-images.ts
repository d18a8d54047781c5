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

/** The smaller variant of the final stage's base image, or null when it is already small or unknown. */
export function smallerVariant (reference: string): { current: string; suggestion: string } | null {
  const ref = parseImageRef(reference)
  if (!ref.official || ref.tag === null) return null
  const tag = ref.tag
  // Tag words, by prefix: alpine3.20, slim-bookworm, jre-jammy.
  const words = tag.toLowerCase().split('-')
  const has = (word: string): boolean => words.some((w) => w.startsWith(word))
  const small = has('slim') || has('alpine') || /distroless/.test(tag)
  if (/windowsservercore|nanoserver/.test(tag)) return null
  const current = `${ref.name}:${tag}`
  const version = tag === 'latest' ? '' : tag.replace(DISTRO_CODENAMES, '')
  const variant = (suffix: string): string => `${ref.name}:${version ? `${version}-${suffix}` : suffix}`
  switch (ref.name) {
    case 'python':
    case 'node':
    case 'ruby':
      return small ? null : { current, suggestion: `${variant('slim')} (or ${variant('alpine')})` }
    case 'perl':
      return small ? null : { current, suggestion: variant('slim') }
    case 'php':
      if (has('alpine')) return null
      if (has('apache')) return { current, suggestion: `${ref.name}:${version.replace(/apache/, 'fpm')}-alpine behind a separate web server (the apache variant has no Alpine build)` }
      return { current, suggestion: variant('alpine') }
    case 'debian':
      if (small || /backports/.test(tag)) return null
      return { current, suggestion: tag === 'latest' ? 'debian:stable-slim' : `debian:${tag}-slim` }
    case 'eclipse-temurin':
    case 'openjdk': {
      if (has('jre')) return null
      const major = /^\d+/.exec(tag)?.[0]
      if (ref.name === 'openjdk') return { current, suggestion: `eclipse-temurin:${major ?? '<version>'}-jre${has('alpine') ? '-alpine' : ''} (a JRE; the openjdk image is deprecated)` }
      const jre = /jdk/.test(tag) ? tag.replace(/jdk/, 'jre') : /^\d[\w.+]*/.test(tag) ? tag.replace(/^(\d[\w.+]*)/, '$1-jre') : 'jre'
      return { current, suggestion: `eclipse-temurin:${jre} (the JRE, without the compiler)` }
    }
    case 'golang':
    case 'rust':
      return {
        current,
        suggestion:
          ref.name === 'golang'
            ? 'a builder stage (FROM golang AS build) and a final FROM scratch or gcr.io/distroless/static with only the binary (CGO_ENABLED=0): the Go toolchain is hundreds of MB'
            : 'a builder stage (FROM rust AS build) and a final gcr.io/distroless/cc (or debian:bookworm-slim) with only the binary: the Rust toolchain is over a GB'
      }
    default:
      return null
  }
}
