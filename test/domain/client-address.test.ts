import t from 'tap'
import { clientOf, trustProxyOption } from '../../src/domain/client-address.js'

t.test('clientOf: IPv4 as it is, IPv4-mapped IPv6 as IPv4, other IPv6 by its /64', async (t) => {
  t.equal(clientOf('203.0.113.9'), '203.0.113.9')
  t.equal(clientOf('::ffff:203.0.113.9'), '203.0.113.9')
  t.equal(clientOf('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64')
  t.equal(clientOf('2001:db8:1:2::1'), clientOf('2001:db8:1:2:ffff::9'))
  t.not(clientOf('2001:db8:1:2::1'), clientOf('2001:db8:1:3::1'))
})

t.test('trustProxyOption: false, true, a hop count, or addresses and CIDRs', async (t) => {
  t.equal(trustProxyOption('false'), false)
  t.equal(trustProxyOption('true'), true)
  t.same(trustProxyOption('10.0.0.0/8, 192.0.2.1,fd00::/8,loopback'), ['10.0.0.0/8', '192.0.2.1', 'fd00::/8', 'loopback'])
  const hops = trustProxyOption('2') as (address: string, hop: number) => boolean
  t.same([0, 1, 2].map((hop) => hops('10.0.0.1', hop)), [true, true, false], 'the first two hops are trusted')
  for (const bad of ['10.0.0.0/33', 'lb.internal', '', '1.2.3', '-1']) t.equal(trustProxyOption(bad), undefined, bad)
})
