import path from 'node:path'
import { domainToUnicode } from 'node:url'
import { LocalReposDisabled, RepoHostNotAllowed, RepoUrlInvalid } from '../errors.js'

export interface RepoUrl {
  /** What git fetches: a URL, never an option or a transport helper. */
  url: string
  /** Host and path without scheme, user or `.git`: the same repository over https and ssh shares one key. */
  key: string
  /** Last path segment without `.git`, usable as an image name component. */
  name: string
  local: boolean
}

const HINT = 'Use https://host/path, ssh://host/path or user@host:path.'
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f-\u009f]/
// Characters that show as nothing, or reorder the text around them (bidirectional controls), or
// are spaces other than ASCII's (which may stand percent-encoded in a path): with them, a URL reads
// otherwise than what git fetches.
const INVISIBLE = /(?! )[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Z}]/u
// git's own rule: "host:path" with no slash before the colon is the scp-like ssh syntax.
const SCP_LIKE = /^(?:([A-Za-z0-9._~-]+)@)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?!\/\/)([^:]+)$/

export interface RepoPolicy {
  allowLocal: boolean
  /** Plain http:// (an internal git server without TLS); off unless configured. */
  allowHttp?: boolean
  /** When not empty, the only hosts to clone from: exact names, or "*.example.com" for subdomains. */
  allowHosts?: readonly string[]
}

/**
 * Parses and checks a repository URL from a request: REPO_URL_INVALID, LOCAL_REPOS_DISABLED or
 * REPO_HOST_NOT_ALLOWED, before git ever sees it.
 */
export function parseRepoUrl (input: string, options: RepoPolicy): RepoUrl {
  const repo = parseUrl(input, options)
  const host = repo.key.split('/')[0]!.replace(/:\d+$/, '')
  if (!repo.local && options.allowHosts?.length && !options.allowHosts.some((allowed) => hostMatches(allowed, host))) {
    throw new RepoHostNotAllowed(host, options.allowHosts.join(', '))
  }
  return repo
}

/** The repository policy a configuration sets, for the API and for workers (submodules). */
export function repoPolicy (config: { allowLocalRepos: boolean; allowHttpRepos: boolean; repoAllowHosts: string }): RepoPolicy {
  const allowHosts = config.repoAllowHosts.split(',').map((host) => host.trim()).filter(Boolean)
  return { allowLocal: config.allowLocalRepos, allowHttp: config.allowHttpRepos, allowHosts }
}

function hostMatches (allowed: string, host: string): boolean {
  const pattern = allowed.toLowerCase()
  return pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern
}

function parseUrl (input: string, options: RepoPolicy): RepoUrl {
  const shown = printable(redactUrl(input))
  const invalid = (why: string) => new RepoUrlInvalid(`repo '${shown}' ${why}. ${HINT}`)
  if (CONTROL_OR_SPACE.test(input)) throw invalid('contains spaces or control characters')
  // Percent-encoded, they would come back decoded in the repository's key and name.
  const hidden = INVISIBLE.exec(input) ?? INVISIBLE.exec(percentDecoded(input))
  if (hidden) {
    throw invalid(`contains ${codePoint(hidden[0])}, an invisible or bidirectional formatting character, which makes a URL read otherwise than what git fetches`)
  }
  if (input.startsWith('-')) throw invalid('starts with "-", which git would read as an option')
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(input)) throw invalid('uses a git transport helper ("…::"), which is not allowed')

  if (input.startsWith('/')) {
    if (!options.allowLocal) throw new LocalReposDisabled(shown)
    return localRepo(path.posix.normalize(input))
  }

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(input)?.[1]?.toLowerCase()
  if (scheme === undefined) {
    const scp = SCP_LIKE.exec(input)
    if (!scp) throw invalid('is not a repository URL git can fetch')
    const [, , host = '', repoPath = ''] = scp
    if (host.startsWith('-') || repoPath.startsWith('-')) throw invalid('has a host or path starting with "-"')
    checkHostName(host, invalid)
    return remoteRepo(input, host.toLowerCase(), repoPath)
  }

  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw invalid('is not a valid URL')
  }
  switch (scheme) {
    case 'file':
      if (!options.allowLocal) throw new LocalReposDisabled(shown)
      if (url.host !== '') throw invalid('names a host; file:// URLs must be file:///absolute/path')
      return localRepo(path.posix.normalize(decodeURIComponent(url.pathname)))
    case 'https':
      if (url.username || url.password) {
        throw invalid('carries credentials; remove them from the URL (credentials for private repositories belong in the server configuration)')
      }
      break
    case 'ssh':
      if (url.password) throw invalid('carries a password; ssh repositories authenticate with keys')
      break
    case 'http':
      if (!options.allowHttp) {
        throw invalid('uses plain http, which this server does not accept: anyone on the way could change the code (SLIPWAY_ALLOW_HTTP_REPOS)')
      }
      if (url.username || url.password) throw invalid('carries credentials; remove them from the URL')
      break
    default:
      throw invalid(`uses the "${scheme}" scheme, which is not allowed`)
  }
  if (url.search || url.hash) throw invalid('has a query or fragment')
  if (url.hostname.startsWith('-')) throw invalid('has a host starting with "-"')
  // ssh:// hosts come percent-encoded (https ones as punycode, which checkHostName reads).
  checkHostName(percentDecoded(url.hostname), invalid)
  if (url.pathname.length <= 1) throw invalid('has no repository path')
  const host = url.port ? `${url.hostname}:${url.port}` : url.hostname
  return remoteRepo(url.href, host, decodeURIComponent(url.pathname))
}

// Scripts in modern use (Unicode's "recommended" scripts, UAX #31), the only ones a host name may use.
const SCRIPTS = [
  'Latin', 'Greek', 'Cyrillic', 'Armenian', 'Hebrew', 'Arabic', 'Thaana', 'Devanagari', 'Bengali', 'Gurmukhi', 'Gujarati',
  'Oriya', 'Tamil', 'Telugu', 'Kannada', 'Malayalam', 'Sinhala', 'Thai', 'Lao', 'Tibetan', 'Myanmar', 'Georgian', 'Hangul',
  'Ethiopic', 'Khmer', 'Hiragana', 'Katakana', 'Bopomofo', 'Han'
].map((name) => ({ name, pattern: new RegExp(`\\p{Script_Extensions=${name}}`, 'u') }))
// What one label may mix, as Unicode's "highly restrictive" profile (UTS #39) allows: Japanese,
// Chinese and Korean writing, with Latin. Anything else is one script alone.
const MIXES = [['Latin', 'Han', 'Hiragana', 'Katakana'], ['Latin', 'Han', 'Bopomofo'], ['Latin', 'Han', 'Hangul'], ...SCRIPTS.map(({ name }) => [name])]

/**
 * REPO_URL_INVALID for a host name that could pass for another: a label that mixes scripts (Latin
 * "g" and "t" around a Cyrillic "і"), or a symbol or script a host name has no use for (U+2044 "⁄",
 * which reads as "/"). Punycode labels ("xn--…") are read as what they spell. Host names of one
 * script pass: a look-alike written wholly in another script is for SLIPWAY_REPO_ALLOW_HOSTS to stop.
 */
function checkHostName (host: string, invalid: (why: string) => Error): void {
  if (/^[\x00-\x7f]*$/.test(host) && !/(^|\.)xn--/i.test(host)) return
  const unicode = domainToUnicode(host)
  if (!unicode) throw invalid('has a host name that is not a valid internationalised name')
  for (const label of unicode.split('.')) {
    const scripts: string[][] = []
    for (const char of label) {
      if (/[0-9-]|\p{Script=Inherited}/u.test(char)) continue
      const of = SCRIPTS.filter(({ pattern }) => pattern.test(char)).map(({ name }) => name)
      if (of.length === 0) {
        throw invalid(`has a host name with ${codePoint(char)} ('${char}'), ${/\p{Script=Common}/u.test(char) ? 'a symbol that can pass for URL punctuation' : 'of a script not used for host names'}`)
      }
      scripts.push(of)
    }
    if (!MIXES.some((mix) => scripts.every((of) => of.some((name) => mix.includes(name))))) {
      const named = [...new Set(scripts.map((of) => of[0]!))]
      throw invalid(`has a host name whose label '${label}' mixes ${named.join(' and ')}, as a look-alike of another host would; write each label in one script`)
    }
  }
}

/** Percent-encoded UTF-8 decoded; bytes that are not valid UTF-8 become U+FFFD, so the rest still decode. */
function percentDecoded (text: string): string {
  return text.replace(/(%[0-9A-Fa-f]{2})+/g, (encoded) => Buffer.from(encoded.replaceAll('%', ''), 'hex').toString('utf8'))
}

const codePoint = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`

/** The index key for a repository filter; tolerant, since a filter only has to match what was stored. */
export function repoKey (input: string): string {
  try {
    return parseUrl(input, { allowLocal: true, allowHttp: true }).key
  } catch {
    return input
  }
}

function remoteRepo (url: string, host: string, repoPath: string): RepoUrl {
  const trimmed = trimRepoPath(repoPath)
  return { url, key: `${host}/${trimmed.replace(/^\/+/, '')}`, name: imageNameOf(trimmed), local: false }
}

function localRepo (absolutePath: string): RepoUrl {
  const trimmed = trimRepoPath(absolutePath)
  return { url: `file://${encodeURI(absolutePath)}`, key: trimmed, name: imageNameOf(trimmed), local: true }
}

function trimRepoPath (repoPath: string): string {
  return repoPath.replace(/\/+$/, '').replace(/\.git$/, '')
}

/** A Docker repository name component made from the repository's last path segment. */
function imageNameOf (repoPath: string): string {
  const last = repoPath.split('/').filter(Boolean).pop() ?? ''
  const cleaned = last
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '')
    .replace(/[._-]{2,}/g, '-')
  // Room for the local namespace (SLIPWAY_LOCAL_IMAGE_NAMESPACE, at most 50) within Docker's 255-character limit on repository names.
  return cleaned.slice(0, 200).replace(/[._-]+$/, '') || 'app'
}

/**
 * A URL as it may be echoed: whatever stands before the last "@" (userinfo, in any of git's URL
 * forms, even with "@" or "/" in a password) and any query or fragment may be a token, so they are
 * masked.
 */
export function redactUrl (input: string): string {
  return input.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?.*@/, (_match, scheme = '') => `${scheme}***@`).replace(/[?#].*$/, '?…')
}

/** Input echoed in a message, with anything unprintable or invisible made visible and its length bounded. */
export function printable (input: string): string {
  const shown = JSON.stringify(input.length > 200 ? input.slice(0, 200) + '…' : input)
  return shown.slice(1, -1).replace(new RegExp(INVISIBLE, 'gu'), (char) => {
    const hex = char.codePointAt(0)!.toString(16)
    return hex.length > 4 ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`
  })
}
