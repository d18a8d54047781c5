import type Docker from 'dockerode'
import t from 'tap'
import type { Layer } from '../../../src/domain/schemas/build.js'
import { deletedFilesFinding, type ScanCache } from '../../../workers/insight/image-insight.js'

// Which images the files-deleted-later scan reads. The reading itself is tested against real
// images in layer-files.test.ts and test/integration/insight.test.ts; here the engine is a fake
// that counts the exports it is asked for and has nothing to give.

const base = (instruction: string, sizeBytes: number): Layer => ({ instruction, sizeBytes, createdAt: null, line: null, stage: null, fromBase: true })
const own = (instruction: string, line: number, sizeBytes: number): Layer => ({ instruction, sizeBytes, createdAt: null, line, stage: '1', fromBase: false })

function engine () {
  const exported: string[] = []
  const docker = {
    getImage: (id: string) => ({
      get: async () => {
        exported.push(id)
        throw new Error('this fake engine exports nothing')
      }
    })
  } as unknown as Docker
  return { docker, exported }
}

const noCache: ScanCache = { get: async () => null, set: async () => undefined }
const baseLayers = [base('COPY file:73e2b2d4 in /bin/busybox', 1_990_000), base('/bin/busybox --install -s /bin', 0)]

t.test('an image whose own layers only COPY onto the base is not exported', async (t) => {
  const { docker, exported } = engine()
  const layers = [...baseLayers, own('COPY --from=build /app.bin /sums /app/', 6, 30_000_000), own('CMD ["ls"]', 7, 0)]
  t.equal(await deletedFilesFinding({ docker, imageId: 'sha256:copy-only', sizeBytes: 32_000_000, layers, cache: noCache }), null)
  t.same(exported, [], 'no docker save')
})

t.test('an image with a RUN or an ADD of its own is read; an empty RUN layer does not count', async (t) => {
  for (const [instruction, size, read] of [
    ['RUN rm -rf /tmp/build', 120, true],
    ['ADD rootfs.tar.gz /', 5_000_000, true],
    ['RUN echo nothing written', 0, false]
  ] as const) {
    const { docker, exported } = engine()
    const layers = [...baseLayers, own('COPY . /src', 3, 10_000), own(instruction, 4, size)]
    // The fake's export fails; only whether it was asked for matters here.
    await deletedFilesFinding({ docker, imageId: 'sha256:with-run', sizeBytes: 12_000_000, layers, cache: noCache }).catch(() => null)
    t.same(exported, read ? ['sha256:with-run'] : [], `${instruction} (${size} B): ${read ? 'read' : 'not read'}`)
  }
})
