import t from 'tap'
import {
  attestationName,
  attestationsText,
  CACHE_MISS_LABELS,
  cacheHitText,
  cacheLines,
  cachePercent,
  cacheText,
  firstMissText,
  layerLabels,
  stageName,
  shortDigest,
  summaryEntries,
  summaryLines,
  summarizeImage,
  unsignedReason
} from '../../src/domain/build-summary.js'
import { CACHE_MISS_REASONS, type Attestation, type BuildCache, type Image } from '../../src/domain/schemas/build.js'
import { defaultRequest } from '../helpers/fixtures.js'

// The one wording of a build's image that the log, the CLI, chat messages and the portal share.

const layer = (instruction: string, sizeBytes: number, line: number | null, fromBase = false) => ({ instruction, sizeBytes, createdAt: null, line, stage: null, fromBase })

const image: Image = {
  id: 'sha256:1',
  repository: 'localhost:5000/acme/app',
  tags: ['localhost:5000/acme/app:v1'],
  pushed: true,
  digest: null,
  sizeBytes: 80_450_000,
  layers: [
    layer('ADD file:0123 in /', 29_100_000, null, true),
    layer('ENV NODE_ENV=production', 0, 3),
    layer(`RUN apt-get update &&     apt-get install -y build-essential python3 ${'pkg '.repeat(20)}`, 51_200_000, 4),
    layer('COPY . .', 150_000, 5)
  ],
  baseBytes: 29_100_000,
  addedBytes: 51_350_000,
  sizeDelta: { comparedWith: '01JD7Z0000000000000000000A', bytes: -2_100_000, layers: [] },
  findings: [
    { rule: 'package-cache-kept', lines: [4], stage: null, message: 'Remove the apt lists in the same RUN.', bytes: 51_200_000 },
    { rule: 'apt-update-alone', lines: [4], stage: null, message: 'Join apt-get update with the install.' }
  ],
  budget: { maxBytes: 75_000_000, mode: 'warn', exceeded: true }
}

t.test('every fact, in the order every surface shows them', async (t) => {
  t.same(summaryLines(image), [
    'size     80.5 MB (29.1 MB base + 51.4 MB added)',
    'change   -2.1 MB since build 01JD7Z0000000000000000000A',
    'budget   75 MB, exceeded (warn)',
    'layers   4; the largest: 51.2 MB from line 4 RUN apt-get update && apt-get install -y build-essen…',
    'advisor  2 findings; the largest: package-cache-kept (line 4, 51.2 MB): Remove the apt lists in the same RUN.'
  ])
  t.same(
    summaryEntries(image).map(([label]) => label),
    ['size', 'change', 'budget', 'layers', 'advisor']
  )
})

t.test('the facts apart, for layouts of their own', async (t) => {
  const summary = summarizeImage(image)
  t.same(summary.change, { bytes: '-2.1 MB', comparedWith: '01JD7Z0000000000000000000A' })
  t.same(summary.budget, { maxBytes: '75 MB', mode: 'warn', exceeded: true })
  t.match(summary.largestLayer, { size: '51.2 MB', line: 4, fromBase: false, of: 4, instruction: /^RUN apt-get update && /, label: /^line 4 RUN apt-get update && / })
  t.same(summary.firstFinding, { rule: 'package-cache-kept', message: 'Remove the apt lists in the same RUN.', where: 'line 4, 51.2 MB', of: 2 })
})

t.test('what an image lacks is left out; a base layer is named as such', async (t) => {
  const plain: Image = { ...image, sizeDelta: null, budget: null, findings: [], layers: [layer('ADD file:0123 in /', 29_100_000, null, true), layer('CMD ["sh"]', 0, 2)] }
  t.same(summaryLines(plain), ['size     80.5 MB (29.1 MB base + 51.4 MB added)', 'layers   2; the largest: 29.1 MB from the base image'], 'a base image the build did not record')
  t.same(summaryLines({ ...plain, layers: [layer('CMD ["sh"]', 0, 2)] }), ['size     80.5 MB (29.1 MB base + 51.4 MB added)'], 'no layer with bytes, no largest layer')
  t.same(summaryLines({ ...plain, sizeDelta: { comparedWith: 'X', bytes: 0, layers: [] }, budget: { maxBytes: 100_000_000, mode: 'fail', exceeded: false } }).slice(1, 3), [
    'change   +0 B since build X',
    'budget   100 MB, kept'
  ])
})

t.test('layers are named for people: the base image by name, a Dockerfile layer by its line and the step that made it', async (t) => {
  const copied: Image = {
    ...image,
    layers: [layer('Imported from -', 74_800_000, null, true), layer('COPY file:73e2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f in /app/ ', 4_000, 4), layer('CMD ["python3", "/app/app.py"]', 0, 5)]
  }
  const build = {
    baseImages: [{ name: 'debian:bookworm-slim', digest: null, imageId: 'sha256:1' }, { name: 'golang:1.22', digest: null, imageId: 'sha256:2' }],
    steps: [{ stage: 'stage-0', instruction: 'COPY app.py /app/', status: 'succeeded' as const, cached: false, startedAt: null, durationMs: null, line: 4 }]
  }
  t.same(layerLabels(copied, build), ['debian:bookworm-slim (base image)', 'line 4 COPY app.py /app/', 'line 5 CMD ["python3", "/app/app.py"]'], "the image's own base is the first of baseImages; a step's text over the builder's")
  t.same(layerLabels(copied, { ...build, variants: [{}] })[1], 'line 4 COPY file:73e2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f in /app/', "a build with variants has every variant's steps: none is taken for the image's")
  t.same(layerLabels(copied), ['the base image', 'line 4 COPY file:73e2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f in /app/', 'line 5 CMD ["python3", "/app/app.py"]'], 'without them, the history says what it has')
  const layersLine = (of: Image) => summaryLines(of, build).find((line) => line.startsWith('layers'))
  t.same(layersLine(copied), 'layers   3; the largest: 74.8 MB from debian:bookworm-slim (base image)')
  t.same(summaryLines(copied, build)[0], 'size     80.5 MB (29.1 MB debian:bookworm-slim + 51.4 MB added)', 'what the base brought, by its name')
  t.same(layersLine({ ...copied, layers: [layer('COPY file:73e2 in /app/', 90_000_000, 4)] }), 'layers   1; the largest: 90 MB from line 4 COPY app.py /app/')
  t.same(
    layerLabels({ layers: [layer('ADD file:0123 in /', 29_100_000, null, true), layer('CMD ["bash"]', 0, null, true), layer('RUN make', 1, 3)] }, build),
    ['debian:bookworm-slim (base image, layer 1 of 2)', 'debian:bookworm-slim (base image, layer 2 of 2)', 'line 3 RUN make'],
    'several base layers are each labelled, counted'
  )
  t.same(layerLabels({ layers: [layer('ADD file:0123 in /', 1, null, true), layer('ADD x', 1, null, true)] }), ['the base image, layer 1 of 2', 'the base image, layer 2 of 2'])
  t.same(layerLabels({ layers: [layer('/bin/sh -c make', 1, null)] }, build), ['/bin/sh -c make'], 'a layer not lined up with the Dockerfile keeps its text')
})

t.test('a stage unnamed in the Dockerfile is counted from 1, as people read FROM lines; a named one by its name', async (t) => {
  t.equal(stageName('stage-0'), 'stage 1')
  t.equal(stageName('stage-2'), 'stage 3')
  t.equal(stageName('build'), 'stage build')
  t.equal(stageName('stage-x'), 'stage stage-x', 'a name that only looks like a label keeps its words')
})

// --- The layer cache ----------------------------------------------------------------------------

const request = defaultRequest('https://github.com/acme/app.git')
const upload = { ...request, repo: null, source: { type: 'upload' as const, sizeBytes: 10, sha256: 'a'.repeat(64) } }
const filesChanged: BuildCache = {
  comparedWith: '01JD7Z0000000000000000000A',
  steps: 9,
  cached: 5,
  hitRate: 5 / 9,
  firstMiss: { step: 5, instruction: 'COPY . /app', line: 4, reason: 'files-changed', summary: 'src/app.py changed', followers: 3 }
}
const withMiss = (firstMiss: Partial<NonNullable<BuildCache['firstMiss']>>, cache: Partial<BuildCache> = {}) => ({
  request,
  cache: { ...filesChanged, ...cache, firstMiss: { ...filesChanged.firstMiss!, ...firstMiss } }
})

t.test('the cache: how much came from it, and the first step that did not, named by its Dockerfile line', async (t) => {
  const build = { request, cache: filesChanged }
  t.equal(cacheHitText(filesChanged), '5 of 9 steps (56%)')
  t.equal(firstMissText(build), 'line 4 COPY . /app rebuilt: src/app.py changed; 3 steps after it followed')
  t.equal(cacheText(build), '5 of 9 steps (56%); line 4 COPY . /app rebuilt: src/app.py changed; 3 steps after it followed')
  t.same(cacheLines(build), ['cache    5 of 9 steps (56%)', '         line 4 COPY . /app rebuilt: src/app.py changed; 3 steps after it followed'])

  t.equal(firstMissText(withMiss({ followers: 0 }, { cached: 8 })), 'line 4 COPY . /app rebuilt: src/app.py changed; nothing after it rebuilt')
  t.equal(firstMissText(withMiss({ followers: 1 })), 'line 4 COPY . /app rebuilt: src/app.py changed; 1 step after it followed')
  t.equal(
    firstMissText(withMiss({ reason: 'build-arg-changed', summary: 'ARG VERSION: 1.2 → 1.3', instruction: `RUN   make \\\n  ${'x'.repeat(80)}`, line: null })),
    `RUN make \\ ${'x'.repeat(48)}… rebuilt: ARG VERSION: 1.2 → 1.3; 3 steps after it followed`,
    'a long instruction is cut, its spaces folded; without a line, the instruction alone'
  )
})

t.test('the cache: every step cached, a first build, a no-cache build, nothing to say', async (t) => {
  const all: BuildCache = { comparedWith: 'X', steps: 9, cached: 9, hitRate: 1, firstMiss: null }
  t.same(cacheLines({ request, cache: all }), ['cache    9 of 9 steps (100%)', '         every step came from the cache'])
  t.equal(cacheText({ request, cache: all }), '9 of 9 steps (100%); every step came from the cache')

  const first = withMiss({ reason: 'first-build', summary: 'no earlier build', followers: 8, line: 2, instruction: 'RUN apk add curl' }, { comparedWith: null, cached: 0, hitRate: 0 })
  t.equal(firstMissText(first), 'first build of this branch: nothing to compare with')
  t.equal(firstMissText({ ...first, request: upload }), 'first build of this image: nothing to compare with', 'an upload is compared by its image')
  t.equal(cacheText(first), '0 of 9 steps (0%); first build of this branch: nothing to compare with')
  t.equal(firstMissText(withMiss({ reason: 'no-cache', summary: 'noCache requested' }, { cached: 0, hitRate: 0 })), 'no-cache build: every step ran')

  t.same(cacheLines({ request, cache: null }), [], 'no cache summary: nothing')
  t.equal(cacheText({ request, cache: null }), null)
  const none: BuildCache = { comparedWith: null, steps: 0, cached: 0, hitRate: null, firstMiss: null }
  t.same(cacheLines({ request, cache: none }), [], 'no step that could have been cached: nothing')
})

t.test('the hit rate never rounds to all or nothing when it is not', async (t) => {
  const rate = (cached: number, steps: number) => cachePercent({ comparedWith: null, steps, cached, hitRate: steps ? cached / steps : null, firstMiss: null })
  t.same([rate(5, 9), rate(199, 200), rate(1, 300), rate(0, 3), rate(3, 3), rate(0, 0)], ['56%', '99%', '1%', '0%', '100%', null])
  t.equal(cacheHitText({ comparedWith: null, steps: 1, cached: 1, hitRate: 1, firstMiss: null }), '1 of 1 step (100%)')
})

t.test('every reason has a badge label', async (t) => {
  t.same(Object.keys(CACHE_MISS_LABELS).sort(), [...CACHE_MISS_REASONS].sort())
})

// --- Signature and attestations -------------------------------------------------------------------

const attestation = (predicateType: string, signed = true): Attestation => ({ predicateType, digest: `sha256:${'1'.repeat(64)}`, reference: 'r@sha256:1', signed })

t.test('attestations by name, and whether they are signed', async (t) => {
  const three = ['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document', 'https://cyclonedx.org/bom']
  t.equal(attestationsText(three.map((type) => attestation(type))), 'provenance, SPDX, CycloneDX (signed)')
  t.equal(attestationsText(three.map((type) => attestation(type, false))), 'provenance, SPDX, CycloneDX (not signed)')
  t.equal(attestationsText([attestation(three[0]!), attestation('https://example.com/other', false)]), 'provenance, https://example.com/other (1 of 2 signed)', 'another kind by its type')
  t.equal(attestationsText([]), null)
  t.equal(attestationsText(null), null)
  t.equal(attestationName('https://spdx.dev/Document'), 'SPDX')
  t.equal(shortDigest(`sha256:${'0123456789abcdef'.repeat(4)}`), 'sha256:0123456789ab…')
  t.equal(shortDigest('sha256:abc'), 'sha256:abc', 'a short one as it is')
})

t.test('why an image is not signed, as far as the build tells', async (t) => {
  const pushed = { ...image, digest: `sha256:${'a'.repeat(64)}` }
  const phase = (status: 'succeeded' | 'skipped' | 'running') => [{ name: 'attest' as const, status, startedAt: '2026-01-02T03:00:00.000Z', finishedAt: null, durationMs: null }]
  const build = { request: { ...request, push: true, sign: true }, image: pushed, signature: null, attestations: [attestation('https://spdx.dev/Document', false)], phases: phase('succeeded') }
  t.equal(unsignedReason(build), 'the server has no signing key', 'attested unsigned')
  t.equal(unsignedReason({ ...build, attestations: null, phases: phase('skipped') }), 'the server has no signing key', 'nothing to attach, no key to sign with (or reused unsigned)')
  t.equal(unsignedReason({ ...build, attestations: null }), 'nothing could be attached to the image (see the warnings)')
  t.equal(unsignedReason({ ...build, request: { ...build.request, sign: false } }), 'the build asked for none (sign: false)')
  t.equal(unsignedReason({ ...build, image: { ...pushed, pushed: false } }), 'the image was not pushed')
  t.equal(unsignedReason({ ...build, image: null }), 'the image was not pushed', 'nor was one built')
  t.equal(unsignedReason({ ...build, phases: phase('running') }), null, 'not yet known')
  t.equal(unsignedReason({ ...build, phases: [] }), null, 'a build before Slipway signed, or one with variants')
  t.equal(unsignedReason({ ...build, signature: { keyId: 'sha256:1', reference: 'r@sha256:2' } }), null, 'signed')
})
