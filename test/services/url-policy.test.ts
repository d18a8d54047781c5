import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import {
  FORBIDDEN_LOOKUP_CODE,
  checkWebhookUrl,
  guardedLookup,
  isForbiddenAddress,
  parseAllowList,
  type AllowList,
  type Resolver
} from '../../src/services/url-policy.js'

const NOTHING_ALLOWED = parseAllowList('')

type Outcome = 'ok' | 'invalid' | 'forbidden'
/** What checkWebhookUrl makes of `input`, and its error when it refuses it. */
function outcome (input: string, allow: AllowList = NOTHING_ALLOWED): { result: Outcome; error?: Error & { code?: string; statusCode?: number } } {
  try {
    checkWebhookUrl(input, allow)
    return { result: 'ok' }
  } catch (error) {
    const e = error as Error & { code?: string; statusCode?: number }
    if (e.code === 'WEBHOOK_URL_INVALID') return { result: 'invalid', error: e }
    if (e.code === 'WEBHOOK_URL_FORBIDDEN') return { result: 'forbidden', error: e }
    throw error
  }
}

t.test('hostile and benign URLs', async (t) => {
  // input, outcome, why it is in the table
  const cases: [string, Outcome, string][] = [
    // Cloud metadata, in every spelling the URL parser reduces to 169.254.169.254.
    ['http://169.254.169.254/latest/meta-data/', 'forbidden', 'metadata'],
    ['http://2852039166/', 'forbidden', 'metadata, decimal'],
    ['http://0xa9fea9fe/', 'forbidden', 'metadata, hex'],
    ['http://0xA9.0xFE.0xA9.0xFE/', 'forbidden', 'metadata, dotted hex'],
    ['http://0251.0376.0251.0376/', 'forbidden', 'metadata, dotted octal'],
    ['http://169.254.43518/', 'forbidden', 'metadata, short form'],
    ['http://[::ffff:169.254.169.254]/', 'forbidden', 'metadata, IPv4-mapped'],
    ['http://[64:ff9b::169.254.169.254]/', 'forbidden', 'metadata, through NAT64'],
    ['http://[fd00:ec2::254]/', 'forbidden', 'AWS metadata over IPv6 (unique local)'],
    ['http://100.100.100.200/', 'forbidden', 'Alibaba metadata (carrier-grade NAT range)'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'forbidden', 'GCE metadata name'],
    ['http://metadata/', 'forbidden', 'GCE metadata short name'],
    ['http://instance-data/', 'forbidden', 'EC2 metadata name'],
    // Loopback.
    ['http://127.0.0.1:6379/', 'forbidden', 'loopback (Redis)'],
    ['http://127.1/', 'forbidden', 'loopback, short form'],
    ['http://2130706433/', 'forbidden', 'loopback, decimal'],
    ['http://0x7f.1/', 'forbidden', 'loopback, hex short form'],
    ['http://017700000001/', 'forbidden', 'loopback, octal'],
    ['http://127。0。0。1/', 'forbidden', 'loopback, ideographic full stops'],
    ['http://[::1]/', 'forbidden', 'IPv6 loopback'],
    ['http://[::ffff:7f00:1]/', 'forbidden', 'loopback, IPv4-mapped in hex'],
    ['http://[::127.0.0.1]/', 'forbidden', 'loopback, IPv4-compatible'],
    ['http://[::ffff:0:7f00:1]/', 'forbidden', 'loopback, IPv4-translated'],
    ['http://[64:ff9b::7f00:1]/', 'forbidden', 'loopback through NAT64'],
    ['http://[2002:7f00:1::]/', 'forbidden', '6to4 wrapping loopback'],
    ['http://localhost/', 'forbidden', 'localhost'],
    ['http://LOCALHOST./', 'forbidden', 'localhost, upper case and absolute'],
    ['http://ｌｏｃａｌｈｏｓｔ/', 'forbidden', 'localhost in fullwidth letters'],
    ['http://%6c%6fcalhost/', 'forbidden', 'localhost, percent-encoded'],
    ['http://foo.localhost/', 'forbidden', '*.localhost'],
    ['http://localhost.localdomain/', 'forbidden', 'localhost.localdomain'],
    ['http://host.docker.internal:2375/', 'forbidden', "Docker's name for the host"],
    ['http://redis:6379/', 'forbidden', 'single-label name (a Compose service)'],
    // Unspecified, private, link-local, special ranges.
    ['http://0.0.0.0/', 'forbidden', 'unspecified'],
    ['http://0/', 'forbidden', 'unspecified, short form'],
    ['http://[::]/', 'forbidden', 'IPv6 unspecified'],
    ['http://10.1.2.3/', 'forbidden', 'private 10/8'],
    ['http://172.16.0.1/', 'forbidden', 'private 172.16/12'],
    ['http://172.31.255.254/', 'forbidden', 'private 172.16/12, top'],
    ['http://192.168.1.1/', 'forbidden', 'private 192.168/16'],
    ['http://100.64.0.1/', 'forbidden', 'carrier-grade NAT'],
    ['http://[fd00::1]/', 'forbidden', 'unique local'],
    ['http://[fe80::1]/', 'forbidden', 'IPv6 link-local'],
    ['http://255.255.255.255/', 'forbidden', 'broadcast'],
    ['http://224.0.0.1/', 'forbidden', 'multicast'],
    ['http://[ff02::1]/', 'forbidden', 'IPv6 multicast'],
    ['http://198.18.0.1/', 'forbidden', 'benchmarking'],
    ['http://192.0.2.1/', 'forbidden', 'documentation (TEST-NET-1)'],
    ['http://240.0.0.1/', 'forbidden', 'reserved'],
    // Not http(s), or not a URL Slipway should POST to.
    ['http://user:pw@example.com/', 'invalid', 'credentials'],
    ['https://token@example.com/', 'invalid', 'user name only'],
    ['https://:pw@example.com/', 'invalid', 'password only'],
    ['ftp://example.com/', 'invalid', 'ftp'],
    ['javascript:alert(1)', 'invalid', 'javascript'],
    ['file:///etc/passwd', 'invalid', 'file'],
    ['data:text/plain,hello', 'invalid', 'data'],
    ['gopher://example.com:6379/_INFO', 'invalid', 'gopher'],
    ['//example.com/hook', 'invalid', 'scheme-relative'],
    ['example.com/hook', 'invalid', 'no scheme'],
    ['https://example.com/hook#section', 'invalid', 'fragment'],
    ['https://example.com/hook#', 'invalid', 'empty fragment'],
    ['http://exa\tmple.com/', 'invalid', 'tab (the parser would drop it)'],
    ['https://exa mple.com/', 'invalid', 'space'],
    ['http://[::1/', 'invalid', 'malformed IPv6'],
    ['', 'invalid', 'empty'],
    [`https://example.com/${'a'.repeat(2048)}`, 'invalid', 'too long'],
    // Public receivers.
    ['https://example.com/hook', 'ok', 'public name'],
    ['https://hooks.slack.com/services/T000/B000/XXXXXXXX', 'ok', 'Slack'],
    ['https://discord.com/api/webhooks/123/abc?wait=true', 'ok', 'Discord, with a query'],
    ['http://93.184.215.14/', 'ok', 'public IPv4'],
    ['https://8.8.8.8:8443/hook', 'ok', 'public IPv4 with a port'],
    ['https://[2606:4700:4700::1111]/', 'ok', 'public IPv6'],
    ['https://[64:ff9b::8.8.8.8]/', 'ok', 'NAT64 of a public address'],
    ['https://example.com./hook', 'ok', 'absolute name'],
    ['https://bücher.example/hook', 'ok', 'IDN'],
    ['https://localhost.example.com/', 'ok', 'a public name that starts with localhost'],
    ['https://internal.example.com/', 'ok', 'a public name with "internal" in it'],
    ['https://my_service.example.com/', 'ok', 'underscore'],
    // Resolves to 127.0.0.1 in public DNS: the URL passes, guardedLookup refuses it at delivery.
    ['http://127.0.0.1.nip.io/', 'ok', 'a name (checked when resolved)']
  ]
  t.ok(cases.length >= 40, `${cases.length} cases`)
  for (const [input, expected, why] of cases) {
    const { result, error } = outcome(input)
    t.equal(result, expected, `${why}: ${JSON.stringify(input.slice(0, 80))}${error ? ` (${error.message.slice(0, 90)}…)` : ''}`)
  }
})

t.test('the URL parser canonicalises numeric IPv4 forms before the check sees them', async (t) => {
  const allow = parseAllowList('127.0.0.0/8,169.254.169.254')
  const cases: [string, string][] = [
    ['http://2130706433/', 'http://127.0.0.1/'],
    ['http://0x7f.1/', 'http://127.0.0.1/'],
    ['http://017700000001/', 'http://127.0.0.1/'],
    ['http://127.1/', 'http://127.0.0.1/'],
    ['http://0x7f000001/', 'http://127.0.0.1/'],
    ['http://0251.0376.0251.0376/', 'http://169.254.169.254/'],
    ['http://169.254.43518/', 'http://169.254.169.254/'],
    ['HTTP://Example.COM:80/a?b=c', 'http://example.com/a?b=c']
  ]
  for (const [input, href] of cases) t.equal(checkWebhookUrl(input, allow).href, href, input)
  t.ok(checkWebhookUrl('https://example.com/x', NOTHING_ALLOWED) instanceof URL, 'returns the parsed URL')
})

t.test('errors: codes, status, what they say and what they never echo', async (t) => {
  const invalid = outcome('https://alice:s3cret-pw@example.com/hook?token=abc').error
  t.equal(invalid?.code, 'WEBHOOK_URL_INVALID')
  t.equal(invalid?.statusCode, 400)
  t.match(invalid?.message, /http:\/\/ or https:\/\//, 'says what is allowed')
  t.notMatch(invalid?.message, /alice|s3cret|token|abc/, 'no userinfo, no query')

  const scheme = outcome('ftp://files.example.com/').error
  t.match(scheme?.message, /"ftp:" scheme/)

  const forbidden = outcome('http://127.0.0.1:8080/hooks/secret-path?token=abc').error
  t.equal(forbidden?.code, 'WEBHOOK_URL_FORBIDDEN')
  t.equal(forbidden?.statusCode, 400)
  t.match(forbidden?.message, /'127\.0\.0\.1' is a loopback address/)
  t.match(forbidden?.message, /SLIPWAY_WEBHOOK_ALLOW/, 'tells the operator how to allow an internal receiver')
  t.notMatch(forbidden?.message, /secret-path|token|abc/, 'no path, no query')

  t.match(outcome('http://metadata.google.internal/').error?.message, /'metadata\.google\.internal' is in the \.internal domain/)
  t.match(outcome('http://[::ffff:169.254.169.254]/').error?.message, /IPv4-mapped/)
  t.match(outcome('http://[64:ff9b::a9fe:a9fe]/').error?.message, /NAT64 address for 169\.254\.169\.254, which is a link-local/)
  t.match(outcome(`https://example.com/${'a'.repeat(3000)}`).error?.message, /3020 characters long/)
})

t.test('the allowlist lets operators reach internal receivers, and nothing more', async (t) => {
  const byCidr = parseAllowList('127.0.0.1/32')
  t.equal(outcome('http://127.0.0.1:8080/hook', byCidr).result, 'ok', '127.0.0.1/32 allows 127.0.0.1')
  t.equal(outcome('http://2130706433:8080/', byCidr).result, 'ok', '... in any spelling')
  t.equal(outcome('http://[::ffff:127.0.0.1]/', byCidr).result, 'ok', '... and its IPv4-mapped form')
  t.equal(outcome('http://127.0.0.2/', byCidr).result, 'forbidden', 'not its neighbour')
  t.equal(outcome('http://localhost/', byCidr).result, 'forbidden', 'a CIDR does not allow a forbidden name')

  const byName = parseAllowList('localhost')
  t.equal(outcome('http://localhost:3000/', byName).result, 'ok', 'localhost allowed by name')
  t.equal(outcome('http://LOCALHOST.:3000/', byName).result, 'ok', 'case-insensitive, trailing dot ignored')
  t.equal(outcome('http://foo.localhost/', byName).result, 'forbidden', 'exact match only: no subdomains')
  t.equal(outcome('http://127.0.0.1/', byName).result, 'forbidden', 'a name does not allow an address')

  const v6 = parseAllowList('::1/128')
  t.equal(outcome('http://[::1]:8080/', v6).result, 'ok', '::1/128 allows [::1]')
  t.equal(outcome('http://[fd00::1]/', v6).result, 'forbidden')
  t.equal(outcome('http://127.0.0.1/', v6).result, 'forbidden', 'an IPv6 range does not match IPv4')

  const several = parseAllowList(' hooks.internal , 10.8.0.0/16,fd00::/8, 192.168.1.7 ,')
  t.equal(outcome('http://hooks.internal/', several).result, 'ok')
  t.equal(outcome('http://other.internal/', several).result, 'forbidden')
  t.equal(outcome('http://10.8.3.4/', several).result, 'ok')
  t.equal(outcome('http://10.9.0.1/', several).result, 'forbidden')
  t.equal(outcome('http://[fd12::1]/', several).result, 'ok')
  t.equal(outcome('http://192.168.1.7/', several).result, 'ok', 'a bare address is a /32')
  t.equal(outcome('http://192.168.1.8/', several).result, 'forbidden')
  t.equal(outcome('https://user:pw@hooks.internal/', several).result, 'invalid', 'allowing a host does not relax the URL rules')
})

t.test('parseAllowList', async (t) => {
  t.same(parseAllowList(''), { hostnames: new Set(), ranges: [] }, 'empty')
  t.same(parseAllowList(' , ,'), { hostnames: new Set(), ranges: [] }, 'only separators')
  t.same([...parseAllowList('Hooks.Example.COM.,bücher.example').hostnames], ['hooks.example.com', 'xn--bcher-kva.example'], 'normalized names')
  t.equal(parseAllowList('10.0.0.0/8,::1,[fd00::]/8').ranges.length, 3)
  const bad = ['10.0.0.0/33', 'exa mple.com', '*.example.com', '10/8', '127.1', 'fd00::/129', 'http://hooks.example.com', '1.2.3.4/', '/8', '10.0.0.0/-1', '0x7f000001', 'a..b']
  for (const entry of bad) {
    t.throws(() => parseAllowList(`localhost,${entry}`), { message: new RegExp(`'${entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`) }, `rejects ${entry}, naming it`)
  }
})

t.test('isForbiddenAddress: addresses as DNS returns them', async (t) => {
  const cases: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['10.0.0.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['::', true],
    ['fe80::1%eth0', true],
    ['fd00::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:8.8.8.8', true],
    ['64:ff9b::10.0.0.1', true],
    ['64:ff9b:1::1', true],
    ['not-an-address', true],
    ['', true],
    ['8.8.8.8', false],
    ['93.184.215.14', false],
    ['2606:4700:4700::1111', false],
    ['64:ff9b::8.8.8.8', false]
  ]
  for (const [address, forbidden] of cases) t.equal(isForbiddenAddress(address, NOTHING_ALLOWED), forbidden, JSON.stringify(address))
  const allow = parseAllowList('127.0.0.0/8,fd00::/8')
  t.equal(isForbiddenAddress('127.0.0.1', allow), false, 'allowed by CIDR')
  t.equal(isForbiddenAddress('::ffff:127.0.0.1', allow), false, 'mapped form of an allowed address')
  t.equal(isForbiddenAddress('fd00::1', allow), false)
  t.equal(isForbiddenAddress('10.0.0.1', allow), true)
})

/** guardedLookup's answer, as { error } or { address, family } (all: false) or { addresses } (all: true). */
function lookup (allow: AllowList, hostname: string, all: boolean, resolver?: Resolver) {
  return new Promise<{ error?: NodeJS.ErrnoException; address?: unknown; family?: number }>((resolve) => {
    guardedLookup(allow, resolver)(hostname, { all }, (error, address, family) => {
      resolve(error ? { error } : { address, family })
    })
  })
}

t.test('guardedLookup with the system resolver: localhost is refused unless allowed', async (t) => {
  for (const all of [true, false]) {
    const refused = await lookup(NOTHING_ALLOWED, 'localhost', all)
    t.equal(refused.error?.code, FORBIDDEN_LOOKUP_CODE, `refused (all: ${all})`)
    t.match(refused.error?.message, /'localhost' resolves to (127\.0\.0\.1|::1), .*loopback/, 'names the host and the address')
  }
  for (const allow of [parseAllowList('127.0.0.0/8,::1/128'), parseAllowList('localhost')]) {
    const many = await lookup(allow, 'localhost', true)
    t.error(many.error)
    t.ok(Array.isArray(many.address), 'all: true answers an array')
    t.ok((many.address as { address: string }[]).some((entry) => entry.address === '127.0.0.1' || entry.address === '::1'))
    const one = await lookup(allow, 'localhost', false)
    t.error(one.error)
    t.ok(one.address === '127.0.0.1' || one.address === '::1', 'all: false answers (address, family)')
    t.equal(one.family, one.address === '127.0.0.1' ? 4 : 6)
  }
  // /etc/hosts here maps localhost to 127.0.0.1 only; allowing 127/8 is then enough.
})

t.test('guardedLookup checks every address, at each connection (DNS rebinding)', async (t) => {
  let answers: string[][] = [['93.184.215.14'], ['127.0.0.1']]
  const seen: unknown[] = []
  const rebinding: Resolver = (_hostname, options, callback) => {
    seen.push(options)
    const next = answers.shift() ?? []
    callback(null, next.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })))
  }
  const first = await lookup(NOTHING_ALLOWED, 'rebind.example', false, rebinding)
  t.equal(first.address, '93.184.215.14', 'public at first')
  const second = await lookup(NOTHING_ALLOWED, 'rebind.example', false, rebinding)
  t.equal(second.error?.code, FORBIDDEN_LOOKUP_CODE, 'loopback at the next connection: refused')
  t.match(second.error?.message, /rebind\.example.*127\.0\.0\.1/)
  t.match(seen[0], { all: true }, 'always resolves every address')

  answers = [['93.184.215.14', '10.0.0.5']]
  t.equal((await lookup(NOTHING_ALLOWED, 'mixed.example', true, rebinding)).error?.code, FORBIDDEN_LOOKUP_CODE, 'one private address among public ones is enough')
  answers = [['2606:4700:4700::1111', '::ffff:169.254.169.254']]
  t.equal((await lookup(NOTHING_ALLOWED, 'mapped.example', true, rebinding)).error?.code, FORBIDDEN_LOOKUP_CODE)
  answers = [['93.184.215.14', '2606:4700:4700::1111']]
  const publicOnly = await lookup(NOTHING_ALLOWED, 'public.example', true, rebinding)
  t.same(publicOnly.address, [
    { address: '93.184.215.14', family: 4 },
    { address: '2606:4700:4700::1111', family: 6 }
  ])
  answers = [['10.0.0.5']]
  t.equal((await lookup(parseAllowList('Hooks.Example'), 'hooks.example.', false, rebinding)).address, '10.0.0.5', 'an allowed name skips the check')
  answers = [['10.0.0.5']]
  t.equal((await lookup(parseAllowList('10.0.0.0/24'), 'hooks.example', false, rebinding)).address, '10.0.0.5', 'an allowed range passes')

  answers = [[]]
  t.equal((await lookup(NOTHING_ALLOWED, 'empty.example', true, rebinding)).error?.code, 'ENOTFOUND', 'no address at all')
  const failing: Resolver = (_hostname, _options, callback) => {
    const error: NodeJS.ErrnoException = new Error('getaddrinfo ENOTFOUND nowhere.example')
    error.code = 'ENOTFOUND'
    callback(error, [])
  }
  t.equal((await lookup(NOTHING_ALLOWED, 'nowhere.example', false, failing)).error?.code, 'ENOTFOUND', 'resolver errors pass through')
})

t.test('guardedLookup as the lookup of a real http request', async (t) => {
  const server = http.createServer((_request, response) => response.end('ok'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as AddressInfo

  const get = (allow: AllowList) =>
    new Promise<{ status?: number; code?: string }>((resolve) => {
      const request = http.get({ host: 'localhost', port, path: '/', lookup: guardedLookup(allow), agent: false, family: 4 }, (response) => {
        response.resume()
        resolve({ status: response.statusCode })
      })
      request.on('error', (error: NodeJS.ErrnoException) => resolve({ code: error.code }))
    })
  t.same(await get(NOTHING_ALLOWED), { code: FORBIDDEN_LOOKUP_CODE }, 'no connection to localhost')
  t.same(await get(parseAllowList('127.0.0.0/8')), { status: 200 }, 'allowed by CIDR')
  t.same(await get(parseAllowList('localhost')), { status: 200 }, 'allowed by name')
})
