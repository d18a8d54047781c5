import dns from 'node:dns'
import type { LookupFunction } from 'node:net'
import { domainToASCII } from 'node:url'
import ipaddr from 'ipaddr.js'
import { WebhookUrlForbidden, WebhookUrlInvalid } from '../domain/errors.js'
import { printable } from '../domain/builds/repo-url.js'

// Webhook URLs are untrusted input, and a delivery is a request the server makes on the caller's
// behalf: without a policy, anyone who may create a webhook can make Slipway POST to its own
// Redis, the Docker API, a cloud metadata service or anything else on the private network
// (SSRF). The policy is checked twice: on the URL when the webhook is saved (checkWebhookUrl, so
// the caller hears at once), and on every address the name resolves to as each delivery's
// connection opens (guardedLookup), since a name can resolve elsewhere by then (DNS rebinding).

/** What the operator lets webhooks reach although the policy forbids it (SLIPWAY_WEBHOOK_ALLOW). */
export interface AllowList {
  /** Lower-case ASCII hostnames without a trailing dot, each matched exactly: no wildcards, no subdomains. */
  readonly hostnames: ReadonlySet<string>
  /** Address ranges, matched against IP literals in URLs and against every address a name resolves to. */
  readonly ranges: readonly (readonly [ipaddr.IPv4 | ipaddr.IPv6, number])[]
}

export const MAX_WEBHOOK_URL_LENGTH = 2048
/** The `code` of the error guardedLookup calls back with. */
export const FORBIDDEN_LOOKUP_CODE = 'EWEBHOOKFORBIDDEN'

const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f-\u009f]/
// An LDH label (with "_", which Docker and Compose service names use).
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/

/**
 * Parses SLIPWAY_WEBHOOK_ALLOW: comma-separated hostnames (exact), addresses (as /32 or /128) and
 * CIDRs. Throws an Error naming the first bad entry, so a typo stops the server rather than
 * silently allowing nothing (or more than meant).
 */
export function parseAllowList (spec: string): AllowList {
  const hostnames = new Set<string>()
  const ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = []
  for (const raw of spec.split(',')) {
    const entry = raw.trim()
    if (entry === '') continue
    const bad = (why: string) =>
      new Error(`SLIPWAY_WEBHOOK_ALLOW: '${printable(entry)}' ${why}. Entries are hostnames (matched exactly), addresses, or CIDRs such as 10.0.0.0/8 or fd00::/8.`)
    const slash = entry.indexOf('/')
    if (slash !== -1) {
      const address = strictAddress(entry.slice(0, slash))
      const bits = entry.slice(slash + 1)
      const max = address?.kind() === 'ipv6' ? 128 : 32
      if (!address || !/^\d{1,3}$/.test(bits) || Number(bits) > max) {
        throw bad('is not a valid CIDR (an IPv4 address with /0 to /32, or an IPv6 address with /0 to /128)')
      }
      ranges.push([address, Number(bits)])
      continue
    }
    const address = strictAddress(entry)
    if (address) {
      ranges.push([address, address.kind() === 'ipv6' ? 128 : 32])
      continue
    }
    if (/^[0-9.]+$/.test(entry) || /^0x/i.test(entry)) throw bad('looks like an address but is not one; write IPv4 addresses as four decimal numbers')
    const hostname = normalizeHostname(domainToASCII(entry) || entry)
    if (hostname.length > 253 || !hostname.split('.').every((label) => LABEL.test(label))) {
      throw bad('is not a valid hostname (letters, digits, "-" and "_" in dot-separated labels; no wildcards)')
    }
    hostnames.add(hostname)
  }
  return { hostnames, ranges }
}

/**
 * Checks a webhook URL and returns it parsed (canonical: numeric IPv4 spellings such as
 * http://2130706433/ or http://0x7f.1/ become 127.0.0.1). Throws WEBHOOK_URL_INVALID for what is
 * not an absolute http(s) URL, and WEBHOOK_URL_FORBIDDEN for a host that is a forbidden address or
 * a name that can only mean this machine, its network or a metadata service. Messages show the
 * host at most: the path and query of chat webhook URLs carry their tokens.
 */
export function checkWebhookUrl (input: string, allow: AllowList): URL {
  if (input.length > MAX_WEBHOOK_URL_LENGTH) throw new WebhookUrlInvalid(`is ${input.length} characters long`)
  // The URL parser would silently drop tabs and newlines; refuse them instead of guessing.
  if (CONTROL_OR_SPACE.test(input)) throw new WebhookUrlInvalid('contains spaces or control characters')
  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw new WebhookUrlInvalid('is not a valid absolute URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookUrlInvalid(`uses the "${printable(url.protocol.slice(0, 20))}" scheme; only http: and https: are allowed`)
  }
  if (url.username !== '' || url.password !== '') {
    throw new WebhookUrlInvalid('carries credentials (user:password@); receivers authenticate deliveries by their signature')
  }
  // Any "#" starts a fragment, even an empty one that URL.hash does not show.
  if (input.includes('#')) throw new WebhookUrlInvalid('has a #fragment, which is never sent to the receiver')
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH) throw new WebhookUrlInvalid(`is ${url.href.length} characters long once normalized`)

  const shown = printable(url.hostname)
  const literal = hostAddress(url.hostname)
  if (literal) {
    if (isAllowedAddress(literal, allow)) return url
    const reason = forbiddenReason(literal)
    if (reason) throw new WebhookUrlForbidden(`The webhook URL's host '${shown}' is ${reason}.`)
    return url
  }
  const hostname = normalizeHostname(url.hostname)
  if (allow.hostnames.has(hostname)) return url
  const reason = forbiddenNameReason(hostname)
  if (reason) throw new WebhookUrlForbidden(`The webhook URL's host '${shown}' is ${reason}.`)
  return url
}

/**
 * Whether a delivery must not connect to `address` (an IP as DNS returned it). Anything that does
 * not parse as an IP address counts as forbidden: the check fails closed.
 */
export function isForbiddenAddress (address: string, allow: AllowList): boolean {
  const parsed = parseAddress(address)
  if (!parsed) return true
  return !isAllowedAddress(parsed, allow) && forbiddenReason(parsed) !== undefined
}

/** Resolves the way dns.lookup does, always with `all: true`; tests pass a fake one. */
export type Resolver = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void
) => void

const systemResolver: Resolver = (hostname, options, callback) => dns.lookup(hostname, options, callback)

/**
 * A `lookup` for http(s).request / net.connect that refuses to connect when ANY address the name
 * resolves to is forbidden and not allowed. It runs as the connection opens, so a name that
 * resolved to a public address when the URL was checked and resolves to 127.0.0.1 now (DNS
 * rebinding) is refused. Every address is checked, not just the one used: with several, Node may
 * try them all (happy eyeballs). An allowed hostname skips the check: the operator trusts it.
 * (Node connects to IP literals without calling lookup; checkWebhookUrl covers those.)
 */
export function guardedLookup (allow: AllowList, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, options.all ? [] : '')
      const first = addresses[0]
      if (!first) {
        const notFound: NodeJS.ErrnoException = new Error(`webhook host '${printable(hostname)}' resolved to no address`)
        notFound.code = 'ENOTFOUND'
        return callback(notFound, options.all ? [] : '')
      }
      if (!allow.hostnames.has(normalizeHostname(hostname))) {
        for (const { address } of addresses) {
          if (!isForbiddenAddress(address, allow)) continue
          const parsed = parseAddress(address)
          const why = parsed ? forbiddenReason(parsed) : 'not an IP address'
          const refused: NodeJS.ErrnoException = new Error(
            `webhook host '${printable(hostname)}' resolves to ${printable(address)}, ${why}; not connecting. ` +
              'To allow it, add the hostname or its address range to SLIPWAY_WEBHOOK_ALLOW.'
          )
          refused.code = FORBIDDEN_LOOKUP_CODE
          return callback(refused, options.all ? [] : '')
        }
      }
      if (options.all) callback(null, addresses)
      else callback(null, first.address, first.family)
    })
  }
}

// ---------------------------------------------------------------------------------------------

/** Lower case, without the trailing dot that makes a name absolute ("localhost." is localhost). */
function normalizeHostname (hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '')
}

/** An IP address written in full: dotted-quad decimal IPv4, or IPv6 (brackets allowed). */
function strictAddress (text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare)
  if (ipaddr.IPv6.isValid(bare) && !bare.includes('%')) return ipaddr.IPv6.parse(bare)
  return undefined
}

/** An address as DNS (or a caller) gives it; ipaddr also takes inet_aton forms, as getaddrinfo would. */
function parseAddress (text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  return ipaddr.isValid(bare) ? ipaddr.parse(bare) : undefined
}

/** The address in a URL's host, if it is one. The URL parser has already made IPv4 dotted-quad decimal. */
function hostAddress (hostname: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (hostname.startsWith('[')) return ipaddr.IPv6.parse(hostname.slice(1, -1))
  return ipaddr.IPv4.isValidFourPartDecimal(hostname) ? ipaddr.IPv4.parse(hostname) : undefined
}

function isAllowedAddress (address: ipaddr.IPv4 | ipaddr.IPv6, allow: AllowList): boolean {
  // ::ffff:a.b.c.d reaches a.b.c.d, so an allowed IPv4 range covers its mapped form too.
  const forms = address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? [address, (address as ipaddr.IPv6).toIPv4Address()] : [address]
  return allow.ranges.some(([network, bits]) => forms.some((form) => form.kind() === network.kind() && form.match(network, bits)))
}

const IPV4_REASONS: Record<string, string> = {
  unspecified: 'in 0.0.0.0/8 ("this host")',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address (169.254.0.0/16, where cloud metadata services live)',
  loopback: 'a loopback address (this machine)',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  private: 'a private-network address (10/8, 172.16/12, 192.168/16)',
  reserved: 'in a reserved, documentation or benchmarking range',
  as112: 'an AS112 (DNS sink) address',
  amt: 'an AMT relay anycast address'
}
const IPV6_REASONS: Record<string, string> = {
  unspecified: 'the unspecified address (::)',
  linkLocal: 'a link-local address (fe80::/10)',
  multicast: 'a multicast address',
  loopback: 'the loopback address (this machine)',
  uniqueLocal: 'a unique local (private-network) address (fc00::/7)',
  ipv4Mapped: 'an IPv4-mapped address (::ffff:a.b.c.d)',
  rfc6145: 'an IPv4-translated address (::ffff:0:a.b.c.d)',
  rfc6052: 'a local-use NAT64 address (64:ff9b:1::/48)',
  '6to4': 'a 6to4 address (2002::/16), which tunnels to an embedded IPv4 address',
  teredo: 'a Teredo address (2001::/32), which tunnels to an embedded IPv4 address',
  deprecatedSiteLocal: 'a site-local address (fec0::/10)',
  reserved: 'in a reserved or documentation range'
}

/**
 * Why an address is forbidden, or undefined when it is an ordinary public one. Every
 * special-purpose range ipaddr.js knows is forbidden (a receiver never lives in one), except the
 * well-known NAT64 prefix, which DNS64 resolvers put in front of public IPv4 addresses: there the
 * embedded IPv4 address decides.
 */
function forbiddenReason (address: ipaddr.IPv4 | ipaddr.IPv6): string | undefined {
  if (address.kind() === 'ipv4') {
    const range = (address as ipaddr.IPv4).range()
    return range === 'unicast' ? undefined : (IPV4_REASONS[range] ?? `a special-purpose (${range}) address`)
  }
  const v6 = address as ipaddr.IPv6
  const range = v6.range()
  if (range === 'unicast') {
    // ::a.b.c.d (deprecated IPv4-compatible addresses) is "unicast" to ipaddr.js, but some stacks
    // still route it to a.b.c.d.
    return v6.parts.slice(0, 6).every((part) => part === 0) ? 'an IPv4-compatible address (::a.b.c.d)' : undefined
  }
  if (range === 'rfc6052' && v6.match(WELL_KNOWN_NAT64, 96)) {
    const embedded = ipaddr.fromByteArray(v6.toByteArray().slice(12))
    const inner = forbiddenReason(embedded)
    return inner && `a NAT64 address for ${embedded.toString()}, which is ${inner}`
  }
  return IPV6_REASONS[range] ?? `a special-purpose (${range}) address`
}
const WELL_KNOWN_NAT64 = ipaddr.IPv6.parse('64:ff9b::')

/**
 * Why a hostname is forbidden by its name alone, or undefined. Defence in depth: guardedLookup
 * would refuse these names anyway once they resolve to a local address, but the caller hears it
 * when saving the webhook, not as a failed delivery later. Forbidden:
 * - single-label names ("localhost", "metadata", "instance-data", "redis"): they resolve through
 *   /etc/hosts, search domains or Docker's DNS, which only ever lead inside;
 * - "localhost" and *.localhost (RFC 6761: always loopback) and localhost.localdomain;
 * - *.internal: the TLD ICANN reserved for private use, where metadata.google.internal, the EC2
 *   and GCE internal names and host.docker.internal live.
 */
function forbiddenNameReason (hostname: string): string | undefined {
  if (hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === 'localhost.localdomain') return 'a name for this machine'
  if (!hostname.includes('.')) return 'a single-label name, which can only resolve to this machine or its local network'
  if (hostname.endsWith('.internal')) return 'in the .internal domain, reserved for private networks (and cloud metadata services)'
  return undefined
}
