import t from 'tap'
import { summaryEntries, summaryLines, summarizeImage } from '../../src/domain/build-summary.js'
import type { Image } from '../../src/domain/schemas/build.js'

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
    'layers   4; the largest: 51.2 MB from line 4, RUN apt-get update && apt-get install -y build-essential py…',
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
  t.match(summary.largestLayer, { size: '51.2 MB', line: 4, fromBase: false, of: 4 })
  t.same(summary.firstFinding, { rule: 'package-cache-kept', message: 'Remove the apt lists in the same RUN.', where: 'line 4, 51.2 MB', of: 2 })
})

t.test('what an image lacks is left out; a base layer is named as such', async (t) => {
  const plain: Image = { ...image, sizeDelta: null, budget: null, findings: [], layers: [layer('ADD file:0123 in /', 29_100_000, null, true), layer('CMD ["sh"]', 0, 2)] }
  t.same(summaryLines(plain), ['size     80.5 MB (29.1 MB base + 51.4 MB added)', 'layers   2; the largest: 29.1 MB from the base image'])
  t.same(summaryLines({ ...plain, layers: [layer('CMD ["sh"]', 0, 2)] }), ['size     80.5 MB (29.1 MB base + 51.4 MB added)'], 'no layer with bytes, no largest layer')
  t.same(summaryLines({ ...plain, sizeDelta: { comparedWith: 'X', bytes: 0, layers: [] }, budget: { maxBytes: 100_000_000, mode: 'fail', exceeded: false } }).slice(1, 3), [
    'change   +0 B since build X',
    'budget   100 MB, kept'
  ])
})
