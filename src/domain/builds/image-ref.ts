import { ImageNameInvalid } from '../errors.js'
import { printable } from './repo-url.js'

// The grammar of distribution/reference, for a repository name without tag or digest.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9A-Fa-f:]+\\])(?::[0-9]+)?`
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`)
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`)

export const DOCKER_HUB = 'docker.io'

/** Splits a repository name into registry host and path, the way Docker decides what a registry is. */
export function splitImageName (name: string): { registry: string; path: string } {
  const slash = name.indexOf('/')
  const first = slash === -1 ? '' : name.slice(0, slash)
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    return { registry: first, path: name.slice(slash + 1) }
  }
  return { registry: DOCKER_HUB, path: name }
}

/** Checks an image repository name from a request; throws IMAGE_NAME_INVALID saying what is wrong. */
export function checkImageName (name: string): string {
  const invalid = (why: string) => new ImageNameInvalid(`image '${printable(name)}' ${why}`)
  if (name.includes('@')) throw invalid('has a digest; give the repository name only')
  const { registry, path } = splitImageName(name)
  if (/:[^/]*$/.test(path)) throw invalid('has a tag; give the repository name only and put tags in `tags`')
  if (registry !== DOCKER_HUB && !DOMAIN_RE.test(registry)) throw invalid(`has an invalid registry host '${printable(registry)}'`)
  if (!PATH_RE.test(path)) {
    throw invalid(
      'is not a valid repository name: use lowercase letters, digits and separators (".", "_", "-") between "/"-separated parts, e.g. "registry.example.com/team/app"'
    )
  }
  if (name.length > 255) throw invalid('is longer than 255 characters')
  return name
}

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/

/**
 * Checks an image reference a request names to read from (a repository with a tag, a digest or
 * both); throws IMAGE_NAME_INVALID saying what is wrong. Returns its repository.
 */
export function checkImageReference (reference: string, field: string): { repository: string } {
  const invalid = (why: string) => new ImageNameInvalid(`${field} '${printable(reference)}' ${why}`)
  const at = reference.indexOf('@')
  const named = at === -1 ? reference : reference.slice(0, at)
  if (at !== -1 && !DIGEST_RE.test(reference.slice(at + 1))) throw invalid('has a malformed digest: write it as @sha256: and 64 lowercase hex digits')
  const { path } = splitImageName(named)
  const colon = path.lastIndexOf(':')
  const repository = colon === -1 ? named : named.slice(0, named.length - (path.length - colon))
  if (colon !== -1 && !TAG_RE.test(path.slice(colon + 1))) {
    throw invalid('has a malformed tag: up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"')
  }
  try {
    checkImageName(repository)
  } catch (error) {
    throw invalid(`is not a valid image reference (${(error as Error).message.replace(/^image '[^']*' /, '')})`)
  }
  return { repository }
}

/**
 * Where a build that is not pushed tags its image: the repository path of `name` (its registry
 * dropped) under Slipway's local namespace. Nothing else on the engine can be named so, so such a
 * build never moves a tag that another build reads, like a base image's.
 */
export function localImageName (name: string, namespace: string): string {
  return checkImageName(`${namespace}/${splitImageName(checkImageName(name)).path}`)
}

/** Checks an image a build pushes: a valid name outside the local namespace, which is never pushed. */
export function checkPushedImageName (name: string, namespace: string): string {
  const { registry } = splitImageName(checkImageName(name))
  if (registry.toLowerCase() === namespace) {
    throw new ImageNameInvalid(
      `image '${printable(name)}' is in ${namespace}, where Slipway keeps the images it does not push (SLIPWAY_LOCAL_IMAGE_NAMESPACE), so it cannot be pushed. ` +
        'Give a registry\'s repository to push to, or set push to false to keep the image on the engine.'
    )
  }
  return name
}
