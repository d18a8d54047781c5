import path from 'node:path'
import t, { type Test } from 'tap'
import { authForHost, authForRegistry, authsForBuild } from '../../../workers/docker/registry-auth.js'
import { tempFolder } from '../../helpers/files.js'

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64')

/** Writes `config` (an object, or raw text) as a config.json in a temp folder of its own (a test writes several); returns its path. */
async function dockerConfig (t: Test, config: unknown): Promise<string> {
  const dir = await tempFolder(t, { 'config.json': typeof config === 'string' ? config : JSON.stringify(config) }, 'slipway-docker-config-')
  return path.join(dir, 'config.json')
}

t.test('authForRegistry: credentials from `auths`', async (t) => {
  // What `docker login` writes, the registry asked about, and what comes back.
  const cases: [string, Record<string, unknown>, string, { username: string; password: string; serveraddress: string } | undefined][] = [
    [
      'Docker Hub, filed under its index URL, as base64 user:password',
      { 'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') } },
      'docker.io',
      { username: 'hubuser', password: 'hubpass', serveraddress: 'https://index.docker.io/v1/' }
    ],
    [
      'Docker Hub, filed as docker.io: still sent as the index URL',
      { 'docker.io': { auth: b64('hubuser:hubpass') } },
      'docker.io',
      { username: 'hubuser', password: 'hubpass', serveraddress: 'https://index.docker.io/v1/' }
    ],
    [
      'Docker Hub, filed under registry-1.docker.io',
      { 'registry-1.docker.io': { username: 'u', password: 'p' } },
      'docker.io',
      { username: 'u', password: 'p', serveraddress: 'https://index.docker.io/v1/' }
    ],
    [
      'a local registry filed as http://localhost:5000/',
      { 'http://localhost:5000/': { auth: b64('local:secret') } },
      'localhost:5000',
      { username: 'local', password: 'secret', serveraddress: 'localhost:5000' }
    ],
    [
      'a local registry filed as localhost:5000',
      { 'localhost:5000': { auth: b64('local:secret') } },
      'localhost:5000',
      { username: 'local', password: 'secret', serveraddress: 'localhost:5000' }
    ],
    [
      'username and password fields instead of auth',
      { 'registry.example.com': { username: 'ci', password: 's3cret' } },
      'registry.example.com',
      { username: 'ci', password: 's3cret', serveraddress: 'registry.example.com' }
    ],
    [
      'a password with colons in it',
      { 'https://registry.example.com': { auth: b64('ci:pa:ss:word') } },
      'registry.example.com',
      { username: 'ci', password: 'pa:ss:word', serveraddress: 'registry.example.com' }
    ],
    [
      'the entry for the host asked about, among others',
      {
        'https://index.docker.io/v1/': { auth: b64('hub:hub') },
        'localhost:5000': { auth: b64('five:five') },
        'localhost:5001': { auth: b64('one:one') }
      },
      'localhost:5001',
      { username: 'one', password: 'one', serveraddress: 'localhost:5001' }
    ],
    ['no entry for that registry', { 'localhost:5000': { auth: b64('local:secret') } }, 'localhost:5001', undefined],
    ['another port is another registry', { 'localhost:5000': { auth: b64('local:secret') } }, 'localhost', undefined],
    ['Docker Hub entries are not used elsewhere', { 'https://index.docker.io/v1/': { auth: b64('hub:hub') } }, 'registry.example.com', undefined],
    ['an entry without credentials', { 'localhost:5000': {} }, 'localhost:5000', undefined],
    ['an auth without a colon', { 'localhost:5000': { auth: b64('nocolon') } }, 'localhost:5000', undefined],
    ['no auths at all', {}, 'docker.io', undefined]
  ]
  for (const [name, auths, registry, expected] of cases) {
    const file = await dockerConfig(t, Object.keys(auths).length === 0 ? {} : { auths })
    t.strictSame(await authForRegistry(file, registry), expected, name)
  }
})

t.test('a missing config file means anonymous', async (t) => {
  const missing = path.join(t.testdir(), 'nope', 'config.json')
  t.equal(await authForRegistry(missing, 'docker.io'), undefined)
  t.equal(await authForRegistry(missing, 'localhost:5000'), undefined)
  t.strictSame(await authsForBuild(missing), {})
})

t.test('a config file that is not JSON is an error naming the file', async (t) => {
  const file = await dockerConfig(t, '{ "auths": { oops')
  await t.rejects(authForRegistry(file, 'docker.io'), { message: new RegExp(`The Docker config ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a JSON object`) })
  await t.rejects(authsForBuild(file), { message: /is not a JSON object; fix it or point SLIPWAY_DOCKER_CONFIG elsewhere/ })
})

t.test('a config that is JSON but not an object is an error naming the file too', async (t) => {
  for (const text of ['null', '[]', '"text"']) {
    const file = await dockerConfig(t, text)
    await t.rejects(authForRegistry(file, 'docker.io'), { message: /is not a JSON object/ }, text)
  }
})

t.test('one host under several spellings: the first that holds credentials serves pushes and builds alike', async (t) => {
  const file = await dockerConfig(t, {
    auths: {
      'localhost:5000': {},
      'http://localhost:5000/': { auth: b64('pusher:pw1') },
      'https://localhost:5000': { auth: b64('other:pw2') },
      'https://index.docker.io/v1/': { auth: b64('hub1:pw') },
      'docker.io': { auth: b64('hub2:pw') }
    }
  })
  t.match(await authForRegistry(file, 'localhost:5000'), { username: 'pusher', password: 'pw1' })
  t.match(await authForRegistry(file, 'docker.io'), { username: 'hub1' })
  const forBuild = await authsForBuild(file)
  t.match(forBuild['localhost:5000'], { username: 'pusher' })
  t.match(forBuild['https://index.docker.io/v1/'], { username: 'hub1' })
})

t.test('authsForBuild: every `auths` entry, keyed as the Engine API wants it', async (t) => {
  const file = await dockerConfig(t, {
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
      'http://localhost:5000/': { auth: b64('local:secret') },
      'registry.example.com': { username: 'ci', password: 's3cret' },
      'https://empty.example.com': {}
    }
  })
  t.strictSame(await authsForBuild(file), {
    'https://index.docker.io/v1/': { username: 'hubuser', password: 'hubpass', serveraddress: 'https://index.docker.io/v1/' },
    'localhost:5000': { username: 'local', password: 'secret', serveraddress: 'localhost:5000' },
    'registry.example.com': { username: 'ci', password: 's3cret', serveraddress: 'registry.example.com' }
  })

  const hubAsDockerIo = await dockerConfig(t, { auths: { 'docker.io': { auth: b64('a:b') } } })
  t.strictSame(
    await authsForBuild(hubAsDockerIo),
    { 'https://index.docker.io/v1/': { username: 'a', password: 'b', serveraddress: 'https://index.docker.io/v1/' } },
    'docker.io maps to https://index.docker.io/v1/'
  )
  t.strictSame(await authsForBuild(await dockerConfig(t, {})), {}, 'no auths, no credentials')
})

t.test('authForHost: the credentials for the host BuildKit asks about, however either side spells it, and none for any other', async (t) => {
  const map = {
    'https://index.docker.io/v1/': { username: 'hub', password: 'h', serveraddress: 'https://index.docker.io/v1/' },
    'localhost:5000': { username: 'local', password: 'l', serveraddress: 'localhost:5000' }
  }
  t.equal(authForHost(map, 'registry-1.docker.io')?.username, 'hub', "BuildKit's name for Docker Hub")
  t.equal(authForHost(map, 'docker.io')?.username, 'hub')
  t.equal(authForHost(map, 'localhost:5000')?.username, 'local')
  t.equal(authForHost(map, 'localhost:5001'), undefined, 'another port is another registry')
  t.equal(authForHost(map, 'localhost'), undefined)
  t.equal(authForHost(map, 'evil.example/localhost:5000'), undefined, 'a host that only contains a known one')
})
