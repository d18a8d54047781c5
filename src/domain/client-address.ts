import ipaddr from 'ipaddr.js'

// Who a request comes from: the address fastify reports as `request.ip`, which is the socket's
// peer unless SLIPWAY_TRUST_PROXY names the proxies in front of the API.

// Named ranges proxy-addr (fastify's trustProxy) understands besides addresses and CIDRs.
const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal']

/**
 * SLIPWAY_TRUST_PROXY as fastify's trustProxy: `false` (the socket's peer is the client), `true`
 * (any X-Forwarded-For is believed), a hop count, or the addresses and CIDRs of the proxies;
 * undefined when it is none of these. A hop count is passed as a function: fastify itself treats
 * a bare number as trusting nothing, because whoever connects directly counts as the first hop.
 * Use it only where nothing reaches the API but through the proxies.
 */
export function trustProxyOption (setting: string): boolean | string[] | ((address: string, hop: number) => boolean) | undefined {
  const value = setting.trim()
  if (value === 'false' || value === 'true') return value === 'true'
  if (/^\d{1,3}$/.test(value)) {
    const hops = Number(value)
    return (_address, hop) => hop < hops
  }
  const entries = value.split(',').map((entry) => entry.trim())
  // IPv4 only as four decimal numbers: ipaddr.js would read "10.1" as 10.0.0.1.
  const valid = (entry: string) =>
    NAMED_RANGES.includes(entry) ||
    ipaddr.IPv4.isValidFourPartDecimal(entry) ||
    ipaddr.IPv4.isValidCIDRFourPartDecimal(entry) ||
    ipaddr.IPv6.isValid(entry) ||
    ipaddr.IPv6.isValidCIDR(entry)
  return entries.every(valid) ? entries : undefined
}

/**
 * The client an address stands for when failures are counted: an IPv4 address as it is, an IPv6
 * address by its /64, which is what one subscriber or host is given (counting each of its 2^64
 * addresses apart would let one client guess without limit).
 */
export function clientOf (ip: string): string {
  let client = clients.get(ip)
  if (client === undefined) {
    client = clientOfAddress(ip)
    // Bounded: past the limit the addresses are worked out again, which is all it saves.
    if (clients.size >= MAX_CLIENTS) clients.clear()
    clients.set(ip, client)
  }
  return client
}

// Worked out once per address: the API asks for every request, and requests come from far fewer
// addresses than they number (parsing one was 2.6% of a GET answered from memory).
const clients = new Map<string, string>()
const MAX_CLIENTS = 10_000

function clientOfAddress (ip: string): string {
  if (!ipaddr.isValid(ip)) return ip
  const address = ipaddr.process(ip)
  if (address.kind() === 'ipv4') return address.toString()
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4)
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`
}
