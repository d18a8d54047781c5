import { readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import {
  COMMENT_MAX,
  STATUS_DESCRIPTION_MAX,
  commentMarker,
  commitStatus,
  markdownCell,
  portalLink,
  pullRequestComment,
  type Baseline
} from '../../../src/domain/reports/report-text.js'
import type { Build, BuildRecord, Image, Layer } from '../../../src/domain/schemas/build.js'
import type { Finding } from '../../../src/domain/schemas/insight.js'
import { packageRoot } from '../../../src/package-info.js'
import { defaultRequest, sampleBuild } from '../../helpers/fixtures.js'

// The words of a pull request's commit status and comment, from realistic builds.

const PUBLIC_URL = 'https://slipway.example.com/'
const HEAD = '3f2a9c1d4e5f60718293a4b5c6d7e8f901234567'
const ID = '01JD3K8Q4S6T7V8W9X0Y1Z2A3B'
const BASE_ID = '01JD2ZZ0000000000000ABC123'
const ZWJ = '\u200d'

const layer = (instruction: string, sizeBytes: number, line: number | null, fromBase = false): Layer => ({
  instruction,
  sizeBytes,
  createdAt: null,
  line,
  stage: null,
  fromBase
})
const finding = (rule: Finding['rule'], stage: string | null, message: string, lines: number[], bytes?: number): Finding => ({
  rule,
  stage,
  message,
  lines,
  ...(bytes === undefined ? {} : { bytes })
})

function image (sizeBytes: number, layers: Layer[], findings: Finding[], extra: Partial<Image> = {}): Image {
  const baseBytes = layers.filter((l) => l.fromBase).reduce((sum, l) => sum + l.sizeBytes, 0)
  return {
    id: 'sha256:' + 'a'.repeat(64),
    repository: 'registry.example.com/acme/app',
    tags: ['registry.example.com/acme/app:3f2a9c1d4e5f'],
    pushed: true,
    digest: 'sha256:' + 'b'.repeat(64),
    sizeBytes,
    layers,
    baseBytes,
    addedBytes: sizeBytes - baseBytes,
    sizeDelta: null,
    findings,
    budget: null,
    ...extra
  }
}

const APT = 'RUN apt-get update && apt-get install -y --no-install-recommends build-essential python3-dev libpq-dev'
const baseLayers = [
  layer('ADD file:4b1be1de1a1e in /', 74_800_000, null, true),
  layer('WORKDIR /app', 0, 3),
  layer(APT, 48_100_000, 4),
  layer('COPY requirements.txt .', 1_200, 5),
  layer('RUN pip install --no-cache-dir -r requirements.txt', 15_900_000, 6),
  layer('COPY . .', 1_000_000, 7)
]
const baseFindings = [finding('build-tools-in-final-stage', null, 'build-essential stays in the final image: build in a stage of its own and copy the result.', [4], 48_100_000)]

function base (overrides: Partial<Build> = {}): Build {
  return sampleBuild(ID, {
    request: { ...defaultRequest('https://github.com/acme/app.git', 'registry.example.com/acme/app'), ref: 'feature/cache', push: true },
    commit: HEAD,
    resolvedRef: 'refs/heads/feature/cache',
    startedAt: '2026-01-02T03:00:01.000Z',
    attempts: 1,
    builder: 'buildkit',
    ...overrides
  })
}
const ended = { finishedAt: '2026-01-02T03:01:13.400Z', durationMs: 72_400 }

const baselineBuild: BuildRecord = sampleBuild(BASE_ID, {
  status: 'succeeded',
  commit: '9'.repeat(40),
  image: image(139_800_000, baseLayers, baseFindings)
})
const BASELINE: Baseline = { build: baselineBuild, branch: 'main' }

const grownLayers = [
  baseLayers[0]!,
  baseLayers[1]!,
  layer(APT, 48_100_000, 4),
  layer('COPY requirements.txt .', 1_300, 5),
  layer('RUN pip install --no-cache-dir -r requirements.txt', 17_800_000, 6),
  layer('COPY . .', 1_150_000, 7),
  layer('RUN pip install gunicorn==22.0.0', 1_050_000, 8)
]
const newFindings = [
  ...baseFindings,
  finding('package-cache-kept', null, '`pip install` without --no-cache-dir keeps the downloaded packages in ~/.cache/pip: write `pip install --no-cache-dir ...` (or set ENV PIP_NO_CACHE_DIR=1).', [8], 1_050_000)
]
const succeeded = base({
  ...ended,
  status: 'succeeded',
  image: image(142_900_000, grownLayers, newFindings),
  cache: {
    comparedWith: BASE_ID,
    steps: 6,
    cached: 3,
    hitRate: 0.5,
    firstMiss: { step: 4, instruction: 'COPY requirements.txt .', line: 5, reason: 'files-changed', summary: 'requirements.txt changed', followers: 2 }
  },
  packages: { count: 212, byEcosystem: { deb: 180, apk: 0, pypi: 32, npm: 0, golang: 0 } }
})

const failed = base({
  ...ended,
  status: 'failed',
  durationMs: 12_000,
  steps: [
    { stage: '0', instruction: 'COPY . .', status: 'succeeded', cached: true, startedAt: null, durationMs: 0, line: 3 },
    { stage: '0', instruction: 'RUN make', status: 'failed', cached: false, startedAt: null, durationMs: 4_000, line: 4, exitCode: 2 }
  ],
  error: { code: 'BUILD_STEP_FAILED', message: "[stage-0 2/2] RUN make failed with exit code 2. The log shows the step's output.", phase: 'build', step: '[stage-0 2/2] RUN make', exitCode: 2 }
})

t.test('commit status: each state', async (t) => {
  t.strictSame(commitStatus(base(), BASELINE), { state: 'pending', description: 'Queued' })
  t.strictSame(commitStatus(base({ status: 'running' }), BASELINE), { state: 'running', description: 'Building…' })
  t.strictSame(commitStatus(succeeded, BASELINE), { state: 'success', description: '143 MB, +3.1 MB vs main; 2 findings (1 new)' })
  t.strictSame(commitStatus(succeeded, null), { state: 'success', description: '143 MB; 2 findings' }, 'no baseline: no change')
  t.strictSame(commitStatus(failed, BASELINE), { state: 'failure', description: 'Failed at line 4 RUN make: exit 2' })
  const noStep = base({ ...ended, status: 'failed', error: { code: 'PUSH_DENIED', message: 'The registry refused the push: denied: requested access to the resource is denied', phase: 'push' } })
  t.strictSame(commitStatus(noStep, null), { state: 'failure', description: 'Failed: The registry refused the push: denied: requested access to the resource is denied' })
  const timedOut = base({ ...ended, status: 'timed_out', error: { code: 'TIMED_OUT', message: 'The build ran past its limit of 3600 s during build and was stopped.', phase: 'build' } })
  t.strictSame(commitStatus(timedOut, BASELINE), { state: 'failure', description: 'Timed out after 1 h during build' })
  const canceled = base({ status: 'canceled', canceledBy: { kind: 'token', id: 'tok1', name: 'release-bot', deliveryId: null } })
  t.strictSame(commitStatus(canceled, BASELINE), { state: 'canceled', description: 'Canceled by release-bot' })
  t.strictSame(commitStatus(base({ status: 'canceled' }), BASELINE), { state: 'canceled', description: 'Canceled' }, 'by no one known')
  const superseded = base({ status: 'canceled', error: { code: 'SUPERSEDED', message: 'Superseded by build X.', phase: null } })
  t.strictSame(commitStatus(superseded, BASELINE), { state: 'canceled', description: 'Superseded by a newer build' })
})

t.test('commit status: the sign of the change, no findings, a budget over in warn mode', async (t) => {
  const smaller = base({ ...ended, status: 'succeeded', image: image(137_700_000, baseLayers, []) })
  t.equal(commitStatus(smaller, BASELINE).description, '138 MB, -2.1 MB vs main; no findings', 'a shrink keeps its minus')
  const same = base({ ...ended, status: 'succeeded', image: image(139_800_000, baseLayers, baseFindings) })
  t.equal(commitStatus(same, BASELINE).description, '140 MB, +0 B vs main; 1 finding', 'no change reads +0 B; old findings are not "new"')
  const over = base({ ...ended, status: 'succeeded', image: image(142_900_000, grownLayers, [], { budget: { maxBytes: 140_000_000, mode: 'warn', exceeded: true } }) })
  t.equal(commitStatus(over, BASELINE).description, '143 MB, +3.1 MB vs main; no findings; over its 140 MB budget')
  const kept = base({ ...ended, status: 'succeeded', image: image(142_900_000, grownLayers, [], { budget: { maxBytes: 150_000_000, mode: 'warn', exceeded: false } }) })
  t.notMatch(commitStatus(kept, BASELINE).description, /budget/, 'a kept budget is not worth a word')
})

t.test('commit status: never over 140 characters, on one line', async (t) => {
  const long = 'x'.repeat(500)
  const builds = [
    base({ ...ended, status: 'failed', error: { code: 'BUILD_FAILED', message: `The build: ${long}\nsecond line`, phase: 'build' } }),
    base({ ...ended, status: 'failed', steps: [{ stage: '0', instruction: `RUN ${long}`, status: 'failed', cached: false, startedAt: null, durationMs: 1, line: 12, exitCode: 127 }] }),
    base({ status: 'canceled', canceledBy: { kind: 'token', id: 't', name: long, deliveryId: null } }),
    base({ ...ended, status: 'succeeded', image: image(1, [], []) })
  ]
  for (const build of builds) {
    for (const baseline of [BASELINE, { build: baselineBuild, branch: long }, null]) {
      const { description } = commitStatus(build, baseline)
      t.ok(description.length <= STATUS_DESCRIPTION_MAX, `${description.length} ≤ 140`)
      t.notMatch(description, /\n/)
    }
  }
  t.match(commitStatus(builds[1]!, null).description, /^Failed at line 12 RUN x+…: exit 127$/, 'the instruction is cut; the line and exit code stay')
  t.match(commitStatus(builds[0]!, null).description, /…$/, 'cut with an ellipsis')
})

t.test('portal link and marker', async (t) => {
  t.equal(portalLink('https://slipway.example.com//', ID), `https://slipway.example.com/portal/#/builds/${ID}`)
  t.equal(portalLink('http://10.0.0.5:8080', 'a/b c'), 'http://10.0.0.5:8080/portal/#/builds/a%2Fb%20c')
  t.equal(commentMarker('slipway/build'), '<!-- slipway:slipway/build -->')
  t.equal(commentMarker('app-prod'), '<!-- slipway:app-prod -->', 'a single hyphen stays')
  for (const hostile of ['x -->', 'x --!>', 'a--b', '<!-- y', 'line\nbreak', 'x-', 'ünï', 'bad\ud800']) {
    const marker = commentMarker(hostile)
    const inner = marker.slice('<!-- '.length, -' -->'.length)
    t.notMatch(inner, /--|>|<|!|\n/, `${JSON.stringify(hostile)} cannot end the comment: ${marker}`)
    t.match(marker, /^<!-- slipway:.* -->$/)
  }
  t.not(commentMarker('a--b'), commentMarker('a%2D-b'), 'two contexts never share a marker')
})

t.test('markdownCell: hostile text stays one inert cell', async (t) => {
  t.equal(markdownCell('RUN make'), 'RUN make', 'plain text as it is')
  const hostile = 'RUN echo "a | b" `id` </details> --> <img src=x onerror=alert(1)> **bold** [x](http://e) @octocat @here #12 !34 ${A}:$B ~~s~~ \\| &#64;me\nsecond\r\nline'
  const cell = markdownCell(hostile)
  t.notMatch(cell, /[\n\r]/, 'one line')
  t.notMatch(cell.replace(/\\\|/g, ''), /\|/, 'every pipe escaped')
  t.notMatch(cell.replace(/\\[\\`*_[\]~$|]/g, ''), /[\\`*_[\]~$]/, 'every formatting character escaped')
  t.notMatch(cell, /[<>]/, 'no HTML, no end of an HTML comment')
  t.match(cell, '&lt;/details&gt; --&gt; &lt;img')
  t.match(cell, /&amp;#\u200d?64;me/, 'an entity cannot spell an @')
  t.match(cell, `@${ZWJ}octocat @${ZWJ}here #${ZWJ}12 !${ZWJ}34`, 'no mention, no issue or merge request reference')
  t.match(cell, '\\\\\\|', 'a backslash before a pipe cannot unescape it')
  t.equal(markdownCell('a'.repeat(50), 10), `${'a'.repeat(9)}…`, 'cut before escaping')
  t.equal(markdownCell('x\u0000y\u2028z'), 'x y z', 'control characters and separators as spaces')
})

t.test('the comment of a succeeded build', async (t) => {
  const comment = pullRequestComment({ build: succeeded, baseline: BASELINE, context: 'slipway/build', publicUrl: PUBLIC_URL, pullRequest: { number: 7, headSha: HEAD } })
  t.ok(comment.startsWith(commentMarker('slipway/build') + '\n'), 'starts with the marker')
  t.match(comment, '### ✅ Build succeeded: registry.example.com/acme/app:3f2a9c1d4e5f at 3f2a9c1')
  t.match(comment, `| Size | 143 MB, +3.1 MB vs main ([build …ABC123](https://slipway.example.com/portal/#/builds/${BASE_ID})) |`)
  t.match(comment, '| Build time | 1 min 12 s |')
  t.match(comment, '| Cache | 3 of 6 steps (50%); line 5 COPY requirements.txt . rebuilt: requirements.txt changed; 2 steps after it followed |')
  t.match(comment, '| Packages | 212 (180 deb, 32 pypi) |')
  const layers = comment.slice(comment.indexOf('**Layers that grew most**'), comment.indexOf('**New advisor findings**'))
  t.match(layers, '| 6 | RUN pip install --no-cache-dir -r requirements.txt | +1.9 MB | 17.8 MB |')
  t.match(layers, '| 8 | RUN pip install gunicorn==22.0.0 | +1.05 MB | 1.05 MB |', 'a new layer grew from nothing')
  t.ok(layers.indexOf('| 6 |') < layers.indexOf('| 8 |') && layers.indexOf('| 8 |') < layers.indexOf('| 7 |'), 'largest growth first')
  t.notMatch(layers, /\| 4 \|/, 'an unchanged layer is not listed')
  const findings = comment.slice(comment.indexOf('**New advisor findings**'))
  t.match(findings, '`package-cache-kept`', 'the new finding')
  t.notMatch(findings, 'build-tools-in-final-stage', 'not the one main has too')
  t.match(comment, `[Build ${ID} in the Slipway portal](https://slipway.example.com/portal/#/builds/${ID})`)
  t.ok(comment.length < 4000, `compact: ${comment.length} characters`)
})

t.test('the comment without a baseline, and with nothing new', async (t) => {
  const alone = pullRequestComment({ build: succeeded, baseline: null, context: 'c', publicUrl: PUBLIC_URL, pullRequest: { number: 7, headSha: HEAD } })
  t.match(alone, '| Size | 143 MB (no earlier build to compare with) |')
  t.notMatch(alone, 'Layers that grew most', 'nothing to compare layers with')
  t.match(alone, '**Advisor findings**', 'every finding, not "new" ones')
  t.match(alone, '`build-tools-in-final-stage`')

  const same = base({ ...ended, status: 'succeeded', image: image(139_800_000, baseLayers, baseFindings) })
  const quiet = pullRequestComment({ build: same, baseline: BASELINE, context: 'c', publicUrl: PUBLIC_URL, pullRequest: { number: 7, headSha: HEAD } })
  t.match(quiet, '**Layers that grew most:** none grew.')
  t.match(quiet, '**New advisor findings:** none.')
})

t.test('the comment of a failed, timed-out and canceled build', async (t) => {
  const comment = pullRequestComment({ build: failed, baseline: BASELINE, context: 'c', publicUrl: PUBLIC_URL, pullRequest: { number: 7, headSha: HEAD } })
  t.match(comment, '### ❌ Build failed: registry.example.com/acme/app at 3f2a9c1')
  t.match(comment, '| Error | `BUILD_STEP_FAILED` in build |')
  t.match(comment, "| Message | \\[stage-0 2/2\\] RUN make failed with exit code 2. The log shows the step's output. |")
  t.match(comment, '| Failing step | line 4 RUN make, exit 2 |')
  t.notMatch(comment, /Size|Layers that grew|advisor/, 'no sizes')

  const timedOut = base({ ...ended, status: 'timed_out', error: { code: 'TIMED_OUT', message: 'The build ran past its limit of 3600 s during build and was stopped.', phase: 'build' } })
  t.match(pullRequestComment({ build: timedOut, baseline: null, context: 'c', publicUrl: PUBLIC_URL, pullRequest: { number: 7, headSha: HEAD } }), /### ⌛ Build timed out[^]*\| Error \| `TIMED_OUT` in build \|/)

  const canceled = base({ status: 'canceled', canceledBy: { kind: 'token', id: 'tok1', name: '@octocat', deliveryId: null } })
  const c = pullRequestComment({ build: canceled, baseline: null, context: 'c', publicUrl: PUBLIC_URL, pullRequest: { number: 7, headSha: HEAD } })
  t.match(c, '### 🚫 Build canceled')
  t.match(c, `Canceled by @${ZWJ}octocat; nothing was measured.`, 'the name cannot mention anyone')
})

t.test('hostile text from the Dockerfile and repository cannot break the comment', async (t) => {
  const evil = 'RUN echo "| x | y |" </details> --> @octocat `rm` \n| injected | row |'
  const build = base({
    ...ended,
    status: 'succeeded',
    image: image(142_900_000, [...grownLayers, layer(evil, 2_000_000, 9)], [
      ...newFindings,
      finding('files-deleted-later', 'build', `<script>alert(1)</script> @everyone ${evil}`, [9], 2_000_000)
    ], { tags: ['registry.example.com/acme/app:pr-7'] }),
    cache: { comparedWith: null, steps: 2, cached: 1, hitRate: 0.5, firstMiss: { step: 1, instruction: evil, line: 9, reason: 'instruction-changed', summary: '<b>changed</b>', followers: 0 } }
  })
  const comment = pullRequestComment({ build, baseline: { build: baselineBuild, branch: 'main|@team <x>' }, context: 'evil -->', publicUrl: PUBLIC_URL, pullRequest: { number: 7, headSha: '<img>' } })
  const lines = comment.split('\n')
  t.equal(lines.filter((line) => line.includes('-->')).length, 1, 'only the marker closes a comment')
  t.notMatch(comment.slice(comment.indexOf('\n')), /<(?!!--)/, 'no HTML after the marker')
  t.notMatch(comment, /(^|[^\u200d])@(octocat|everyone|team)/m, 'no mention')
  t.notMatch(comment, /`rm`/, 'no code span from the Dockerfile')
  const columns = (line: string) => line.replace(/\\\\/g, '').replace(/\\\|/g, '').split('|').length - 2
  let header: string | null = null
  for (const line of lines) {
    if (!line.startsWith('|')) {
      header = null
      continue
    }
    header ??= line
    t.equal(columns(line), columns(header), `as many cells as its header: ${line.slice(0, 50)}`)
  }
  t.notOk(lines.some((line) => line.startsWith('| injected')), 'no row injected')
})

t.test('the comment stays under the hard cap', async (t) => {
  const many = Array.from({ length: 400 }, (_, i) => finding('files-deleted-later', `stage-${i}`, '&<>|@'.repeat(500), [i + 1], i))
  const build = base({ ...ended, status: 'succeeded', image: image(1_000, grownLayers.map((l) => ({ ...l, instruction: '&'.repeat(5000) })), many) })
  const comment = pullRequestComment({ build, baseline: BASELINE, context: 'c', publicUrl: PUBLIC_URL, pullRequest: { number: 7, headSha: HEAD } })
  t.ok(comment.length <= COMMENT_MAX, `${comment.length} ≤ ${COMMENT_MAX}`)
  t.match(comment, '…and 390 more in the portal.')
  t.match(comment, `/portal/#/builds/${ID}`)
})

t.test('the pull requests guide shows what these functions say', async (t) => {
  const guide = await readFile(path.join(packageRoot, 'docs/guides/pull-requests.md'), 'utf8')
  const timedOut = base({ ...ended, status: 'timed_out', error: { code: 'TIMED_OUT', message: 'The build ran past its limit of 3600 s during build and was stopped.', phase: 'build' } })
  const canceled = base({ status: 'canceled', canceledBy: { kind: 'token', id: 'tok1', name: 'release-bot', deliveryId: null } })
  for (const build of [base(), base({ status: 'running' }), succeeded, failed, timedOut, canceled]) {
    const { state, description } = commitStatus(build, BASELINE)
    t.match(guide, `| ${build.status} | \`${state}\` | ${description} |\n`, `the ${build.status} status`)
  }
  for (const build of [succeeded, failed]) {
    const comment = pullRequestComment({ build, baseline: BASELINE, context: 'slipway/build', publicUrl: PUBLIC_URL, pullRequest: { number: 7, headSha: HEAD } })
    t.match(guide, `\`\`\`markdown\n${comment}\`\`\`\n`, `the ${build.status} comment, whole`)
  }
})
