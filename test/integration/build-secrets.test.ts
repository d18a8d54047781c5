import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import type Docker from 'dockerode'
import t from 'tap'
import tar from 'tar-stream'
import { buildImage, type ImageBuildInput } from '../../workers/phases/image-build.js'
import { startDockerd, type TestDockerd } from '../helpers/dockerd.js'
import { tarGz } from '../helpers/tarball.js'

// Secret and SSH mounts served by the build's BuildKit session (workers/docker/session-secrets.ts,
// session-ssh.ts), against an engine of the test's own: what a RUN step may read, what it must
// not find, what never reaches the image, and that a canceled build leaves no session behind.

interface Built {
  imageId?: string
  error?: Error
  log: string
}

async function build (engine: TestDockerd, files: Record<string, string>, buildSecrets: ImageBuildInput['buildSecrets'], signal = new AbortController().signal, onLog?: (text: string) => void): Promise<Built> {
  const lines: string[] = []
  const context = await tarGz(Object.entries(files).map(([name, content]) => ({ name, content })))
  try {
    const { imageId } = await buildImage({
      docker: engine.docker,
      builder: 'buildkit',
      context: Readable.from([context]),
      dockerfile: 'Dockerfile',
      tags: [],
      buildArgs: {},
      labels: {},
      target: null,
      noCache: true,
      limits: { memoryBytes: 512 * 1024 * 1024, cpus: 1 },
      network: 'none',
      registryAuth: {},
      pullBaseImages: false,
      ...(buildSecrets ? { buildSecrets } : {}),
      signal,
      log: (_stream, text) => {
        lines.push(text)
        onLog?.(text)
      },
      locateStep: () => null,
      onSteps: () => undefined,
      drain: async () => undefined
    })
    return { imageId, log: lines.join('\n') }
  } catch (error) {
    return { error: error as Error, log: lines.join('\n') }
  }
}

/** Every file of every layer, the image config (history, labels, env) and the manifest, from `docker save`. */
async function imageFiles (docker: Docker, imageId: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  for (const [name, bytes] of await untar(await docker.getImage(imageId).get())) {
    if (!name.endsWith('layer.tar')) {
      files.set(name, bytes)
      continue
    }
    for (const [inner, content] of await untar(Readable.from([bytes]))) files.set(`${name}:${inner}`, content)
  }
  return files
}

async function untar (stream: NodeJS.ReadableStream): Promise<[string, Buffer][]> {
  const entries: [string, Buffer][] = []
  const extract = tar.extract()
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = []
      for await (const chunk of entry) chunks.push(chunk as Buffer)
      entries.push([entry.header.name, Buffer.concat(chunks)])
    }
  })()
  stream.pipe(extract)
  await done
  return entries
}

function filesHolding (files: Map<string, Buffer>, needle: Buffer): string[] {
  return [...files].filter(([, bytes]) => bytes.includes(needle)).map(([name]) => name)
}

t.test('secret mounts', async (t) => {
  const engine = await startDockerd(t)
  const secret = Buffer.from(`npm-token-${randomBytes(12).toString('hex')}`)
  const digest = createHash('sha256').update(secret).digest('hex')

  await t.test('a step reads the secret, and its bytes are in no layer, config or history, nor in the log', async (t) => {
    const built = await build(engine, {
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=secret,id=npm sha256sum /run/secrets/npm > /npm.sha256',
        // An optional mount the session has no secret for is left out of the step, which goes on.
        'RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent',
        'RUN --mount=type=secret,id=npm,target=/root/.npmrc test -s /root/.npmrc'
      ].join('\n') + '\n'
    }, { secrets: { npm: secret }, ssh: {} })
    t.error(built.error)
    const files = await imageFiles(engine.docker, built.imageId!)
    const layer = [...files].find(([name]) => name.endsWith(':npm.sha256'))
    t.equal(layer?.[1].toString().split(' ')[0], digest, 'the step read the secret: its digest is in the image')
    t.same(filesHolding(files, secret), [], `the secret's bytes are in none of the ${files.size} files of the image`)
    t.notOk([...files].some(([name]) => name.endsWith('.npmrc')), 'the secret mount left no file behind')
    t.notOk(built.log.includes(secret.toString()), 'nor in the log')
  })

  await t.test('a required secret the session lacks fails the build, naming the secret', async (t) => {
    const built = await build(engine, { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=pypi,required cat /run/secrets/pypi\n' }, { secrets: { npm: secret }, ssh: {} })
    t.match(built.error, { name: 'BuildFailure', message: /secret pypi not found/ }, String(built.error?.message))
  })

  await t.test('a build given no secrets has none', async (t) => {
    const built = await build(engine, { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=npm,required cat /run/secrets/npm\n' }, undefined)
    t.match(built.error, { message: /secret npm not found/ })
  })
})
