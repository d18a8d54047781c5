import { randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import ipaddr from 'ipaddr.js'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { startBuildWorker } from '../../workers/build-worker.js'
import { testConfig } from '../helpers/config.js'
import { docker } from '../helpers/docker.js'
import { createRepo } from '../helpers/git-repo.js'
import { startSlipway } from '../helpers/slipway.js'

// A hostile RUN step probes a service on the worker's host, as it would an internal service or a
// cloud metadata endpoint. The same probe under the default network is the control: it must reach
// the service, so a probe that is blocked for another reason cannot pass for the defence.

/**
 * A TCP service on every address of this host, reached at the address the builds' default bridge
 * has on the host, with every connection it sees.
 */
async function hostService (t: Test) {
  const connections: string[] = []
  const server = createServer((socket) => {
    connections.push(socket.remoteAddress ?? '?')
    // Closed from this side once written: a step's container may be gone before it would close.
    socket.end('HTTP/1.0 200 OK\r\n\r\ninternal secret\n', () => socket.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { host: await bridgeAddress(), port: (server.address() as AddressInfo).port, connections }
}

/** The host's own address on Docker's default bridge (docker0), which Node does not list while no container is attached. */
async function bridgeAddress (): Promise<string> {
  const bridge = await docker.getNetwork('bridge').inspect()
  const name = bridge.Options?.['com.docker.network.bridge.name'] ?? 'docker0'
  const { stdout } = await promisify(execFile)('ip', ['-4', '-o', 'addr', 'show', 'dev', name])
  return /inet ([\d.]+)\//.exec(stdout)![1]!
}

// The step succeeds either way and says what it saw, so the build's outcome is not the verdict.
const PROBE = [
  'FROM busybox',
  'ARG HOST',
  'ARG PORT',
  'RUN if printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 "$HOST" "$PORT"; then echo "probe: reached"; else echo "probe: blocked"; fi',
  ''
].join('\n')

async function probeRepo (t: Test) {
  return createRepo(t, { Dockerfile: PROBE, 'needs-network.Dockerfile': 'FROM busybox\nARG HOST\nARG PORT\nRUN nc -w 3 "$HOST" "$PORT" </dev/null\n' })
}

for (const builder of ['classic', 'buildkit'] as const) {
  t.test(`${builder}: a RUN step under network "none" cannot connect to the host; under "default" it can`, async (t) => {
    const service = await hostService(t)
    const slipway = await startSlipway(t)
    const repo = await probeRepo(t)
    // noCache: the builders do not key their cache on the network, and the control must really run.
    const probe = { repo: repo.url, builder, noCache: true, buildArgs: { HOST: service.host, PORT: String(service.port) } }

    const isolated = await slipway.build({ ...probe, network: 'none' })
    t.equal(isolated.status, 'succeeded', JSON.stringify(isolated.error))
    t.equal(isolated.request.network, 'none', 'the stored request says how the build ran')
    t.match(await slipway.logs(isolated.id), /probe: blocked/)
    t.notMatch(await slipway.logs(isolated.id), /internal secret/)
    t.same(service.connections, [], 'the service saw no connection')

    const control = await slipway.build({ ...probe, network: 'default' })
    t.equal(control.status, 'succeeded', JSON.stringify(control.error))
    t.match(await slipway.logs(control.id), /probe: reached/, 'the control reaches the service, so the probe works')
    t.equal(service.connections.length, 1)

    const needsNetwork = await slipway.build({ ...probe, dockerfile: 'needs-network.Dockerfile', network: 'none' })
    t.equal(needsNetwork.status, 'failed')
    t.equal(needsNetwork.error?.code, 'BUILD_STEP_FAILED')
    t.match(needsNetwork.error?.message, /without a network \(network: none\).*apt-get/, 'a step that needs the network fails, and the build says why')
    t.equal(service.connections.length, 1)
  })
}

t.test('SLIPWAY_BUILD_NETWORK=none: no build reaches the host, and a request cannot widen it', async (t) => {
  const service = await hostService(t)
  const slipway = await startSlipway(t, { buildNetwork: 'none' })
  const repo = await probeRepo(t)
  for (const network of [undefined, 'default'] as const) {
    const build = await slipway.build({ repo: repo.url, noCache: true, buildArgs: { HOST: service.host, PORT: String(service.port) }, ...(network ? { network } : {}) })
    t.equal(build.status, 'succeeded', JSON.stringify(build.error))
    t.match(await slipway.logs(build.id), /probe: blocked/, `network ${network ?? 'not given'}: the operator's none`)
  }
  t.same(service.connections, [])
})

/** A Docker network made for one test, as an operator prepares one; removed afterwards. */
async function operatorNetwork (t: Test) {
  const name = `slipway-test-${randomBytes(4).toString('hex')}`
  const network = await docker.createNetwork({ Name: name, Driver: 'bridge' })
  t.teardown(() => network.remove().catch(() => undefined))
  const subnet = ((await network.inspect()) as { IPAM: { Config: { Subnet: string }[] } }).IPAM.Config[0]!.Subnet
  return { name, network, subnet: ipaddr.parseCIDR(subnet) }
}

// Printed through a format, so the step's own header line (which shows the command) never matches.
const ADDRESSES = 'FROM busybox\nRUN printf \'%s=[%s]\\n\' addresses "$(ip -o -4 addr show | grep -v \' lo \' | awk \'{print $4}\' | tr \'\\n\' \' \')"\n'

/** The IPv4 addresses (not loopback) the build's RUN step printed. */
function stepAddresses (logs: string): string[] {
  const line = /addresses=\[([^\]]*)\]/.exec(logs)![1]!
  return line.split(' ').filter(Boolean).map((cidr) => cidr.split('/')[0]!)
}

t.test('a named network: RUN steps join it; auto picks the classic builder, an explicit buildkit is refused', async (t) => {
  const { name, subnet } = await operatorNetwork(t)
  const slipway = await startSlipway(t, { buildNetwork: name })
  const repo = await createRepo(t, { Dockerfile: ADDRESSES })

  const joined = await slipway.build({ repo: repo.url, noCache: true })
  t.equal(joined.status, 'succeeded', JSON.stringify(joined.error))
  t.equal(joined.builder, 'classic')
  const logs = await slipway.logs(joined.id)
  t.match(logs, new RegExp(`Building with the classic builder \\(RUN steps join the network '${name}'`))
  const addresses = stepAddresses(logs)
  t.ok(addresses.length > 0 && addresses.every((address) => ipaddr.parse(address).match(subnet)), `the step's address ${addresses.join(', ')} is on ${name}`)

  const buildkit = await slipway.build({ repo: repo.url, noCache: true, builder: 'buildkit' })
  t.equal(buildkit.status, 'failed')
  t.equal(buildkit.error?.code, 'BUILDKIT_NETWORK_UNSUPPORTED')
  t.match(buildkit.error?.message, new RegExp(`'${name}' \\(SLIPWAY_BUILD_NETWORK\\).*builder: "classic"`))

  const none = await slipway.build({ repo: repo.url, noCache: true, network: 'none' })
  t.equal(none.status, 'succeeded', JSON.stringify(none.error))
  t.equal(none.builder, 'buildkit', 'narrowed to none, BuildKit serves again')
  t.same(stepAddresses(await slipway.logs(none.id)), [], 'no address but loopback')
})

t.test('a named network that does not exist: the worker does not start; one removed later fails the build plainly', async (t) => {
  const missing = `slipway-test-missing-${randomBytes(4).toString('hex')}`
  await t.rejects(startBuildWorker(testConfig(t, { buildNetwork: missing }), pino({ level: 'silent' })), {
    message: new RegExp(`SLIPWAY_BUILD_NETWORK=${missing}: the Docker Engine has no network of that name`)
  })

  const { name, network } = await operatorNetwork(t)
  const slipway = await startSlipway(t, { buildNetwork: name })
  await network.remove()
  const build = await slipway.build({ repo: (await createRepo(t, { Dockerfile: ADDRESSES })).url })
  t.equal(build.status, 'failed')
  t.equal(build.error?.code, 'WORKER_CONFIG_INVALID')
  t.match(build.error?.message, new RegExp(`build network '${name}' \\(SLIPWAY_BUILD_NETWORK\\) does not exist`))
})
