import t from 'tap'
import { describeBuild, exitCodeOf } from '../../src/cli/build-summary.js'
import { EXIT } from '../../src/cli/exit-codes.js'
import type { Build } from '../../src/domain/schemas/build.js'
import { defaultRequest, sampleBuild } from '../helpers/fixtures.js'

const DIGEST = `sha256:${'ab'.repeat(32)}`

t.test('a succeeded build: its image, digest, size and the advisor’s largest finding', async (t) => {
  const build = sampleBuild('01JD7Z0000000000000000000A', {
    status: 'succeeded',
    commit: 'c0ffee'.padEnd(40, '0'),
    durationMs: 14_200,
    phases: [{ name: 'clone', status: 'succeeded', startedAt: '2026-01-02T03:00:00.000Z', finishedAt: '2026-01-02T03:00:00.800Z', durationMs: 800 }],
    ranOn: { worker: 'ci-1:4242', engine: { id: 'A1B2:C3D4', name: 'build-host-1' } },
    image: {
      id: 'sha256:1',
      repository: 'localhost:5000/acme/app',
      tags: ['localhost:5000/acme/app:v1'],
      pushed: true,
      digest: DIGEST,
      sizeBytes: 5_340_000,
      layers: [],
      baseBytes: 1_200_000,
      addedBytes: 4_140_000,
      sizeDelta: null,
      findings: [
        { rule: 'package-cache-kept', lines: [4], stage: null, message: 'Remove the apt lists in the same RUN.', bytes: 51_200_000 },
        { rule: 'apt-update-alone', lines: [3], stage: null, message: 'Join apt-get update with the install.', bytes: 1000 }
      ],
      budget: null
    },
    packages: { count: 93, byEcosystem: { deb: 88, apk: 0, pypi: 0, npm: 5, golang: 0 } },
    warnings: ['The image is over its budget']
  })
  const text = describeBuild(build)
  t.match(text, 'packages 93 (deb 88, npm 5) (GET /v1/builds/01JD7Z0000000000000000000A/sbom)', "the SBOM's count, and where it is")
  t.match(text, /^Build 01JD7Z0000000000000000000A succeeded in 14 s\n/)
  t.match(text, 'source   https://github.com/acme/app.git @ (default branch) (c0ffee000000)')
  t.match(text, 'phases   clone 800 ms')
  t.match(text, 'ran on   build-host-1 (worker ci-1:4242)')
  t.match(text, 'image    localhost:5000/acme/app:v1 (pushed)')
  t.match(text, `digest   ${DIGEST}`)
  t.match(text, 'size     5.34 MB (1.2 MB base + 4.14 MB added)')
  t.match(text, 'advisor  2 findings; the largest: package-cache-kept (line 4, 51.2 MB): Remove the apt lists in the same RUN.')
  t.match(text, 'warning  The image is over its budget')
  t.equal(exitCodeOf(build), EXIT.ok)
})

t.test("the largest layer by what people know it as: the base image's name, the Dockerfile line", async (t) => {
  const image = { id: 'sha256:1', repository: 'localhost:5000/acme/app', tags: ['localhost:5000/acme/app:v1'], pushed: false, digest: null, sizeBytes: 120_000_000, baseBytes: 116_700_000, addedBytes: 3_300_000, sizeDelta: null, findings: [], budget: null }
  const build = sampleBuild('01JD7Z0000000000000000000A', {
    status: 'succeeded',
    baseImages: [{ name: 'debian:bookworm-slim', digest: null, imageId: 'sha256:2' }],
    steps: [{ stage: 'stage-0', instruction: 'COPY app.py /app/', status: 'succeeded', cached: false, startedAt: null, durationMs: null, line: 4 }],
    image: { ...image, layers: [{ instruction: 'Imported from -', sizeBytes: 116_700_000, createdAt: null, line: null, stage: null, fromBase: true }, { instruction: 'COPY file:73e2b1c0 in /app/', sizeBytes: 3_300_000, createdAt: null, line: 4, stage: 'stage-0', fromBase: false }] }
  })
  t.match(describeBuild(build), 'layers   2; the largest: 117 MB from debian:bookworm-slim (base image)\n')
  const copied = { ...build, image: { ...build.image!, layers: [{ ...build.image!.layers[1]!, sizeBytes: 130_000_000 }] } }
  t.match(describeBuild(copied), 'layers   1; the largest: 130 MB from line 4 COPY app.py /app/\n')
})

t.test('the commit is printed once, also when the ref is that commit (a retry is pinned to it)', async (t) => {
  const commit = '3f2a9c1d4e5f'.padEnd(40, '7')
  const pinned = sampleBuild('01JD7Z0000000000000000000C', { status: 'queued', commit, request: { ...defaultRequest('https://github.com/acme/app.git'), ref: commit } })
  t.match(describeBuild(pinned), /\n {2}source {3}https:\/\/github\.com\/acme\/app\.git @ 3f2a9c1d4e5f\n/)
  t.equal(describeBuild(pinned).split('3f2a9c1d4e5f').length - 1, 1)
  const short = { ...pinned, request: { ...pinned.request, ref: '3F2A9C1' } }
  t.match(describeBuild(short), '@ 3f2a9c1d4e5f\n', 'an abbreviated commit too')
  const branch = { ...pinned, request: { ...pinned.request, ref: 'main' } }
  t.match(describeBuild(branch), '@ main (3f2a9c1d4e5f)\n', 'a branch with the commit it was at')
  t.match(describeBuild({ ...branch, commit: null }), '@ main\n', 'before the clone, no commit yet')
})

t.test('what started the build, in the words the portal uses: the push and who the event says pushed, a pull request, a retry', async (t) => {
  const queued = sampleBuild('01JD7Z0000000000000000000F', { status: 'queued' })
  const started = (createdBy: Build['createdBy'], retryOf: string | null = null) => /\n {2}started {2}(.*)\n/.exec(describeBuild({ ...queued, createdBy, retryOf }))?.[1]
  const push = { kind: 'trigger', id: 'rl0web', name: 'web-main', deliveryId: 'gh-1', ref: 'refs/heads/main' } as const
  t.equal(started({ ...push, pusher: 'alice' }), 'push to main by alice (trigger rule web-main)')
  t.equal(started(push), 'push to main (trigger rule web-main)', 'an event that named no one plainly')
  const pullRequest = { number: 7, headSha: 'c'.repeat(40), sourceBranch: 'feature', targetBranch: 'main', fork: true }
  t.equal(started({ ...push, name: 'prs', ref: 'refs/pull/7/head', pullRequest, pusher: 'bob' }), 'pull request #7 feature → main from a fork by bob (trigger rule prs)')
  t.equal(started({ ...push, name: 'mrs', ref: 'refs/merge-requests/7/head', pullRequest: { ...pullRequest, fork: false }, pusher: 'John Smith' }), 'merge request !7 feature → main by John Smith (trigger rule mrs)')
  t.equal(started({ kind: 'token', id: 'tk0ops', name: 'ops', deliveryId: null }, '01JD7Z0000000000000000000A'), 'retry of 01JD7Z0000000000000000000A by token ops')
  t.equal(started({ kind: 'token', id: 'admin', name: 'admin', deliveryId: null }), 'the admin token')
  t.equal(started(null), undefined, 'no line for a build from before Slipway recorded who started it')
})

t.test('an ended build that did not succeed: its error, and the exit code its status means', async (t) => {
  const failed = sampleBuild('01JD7Z0000000000000000000B', {
    status: 'failed',
    durationMs: 3000,
    error: { code: 'BUILD_STEP_FAILED', message: '[2/3] RUN exit 3 failed with exit code 3', phase: 'build', exitCode: 3 }
  })
  t.match(describeBuild(failed), /^Build \S+ failed after 3 s\n[^]*error {4}BUILD_STEP_FAILED in build: \[2\/3\] RUN exit 3 failed with exit code 3\n$/)
  t.equal(exitCodeOf(failed), EXIT.buildFailed)
  t.match(describeBuild({ ...failed, ranOn: { worker: 'ci-1:4242', engine: null } }), 'ran on   worker ci-1:4242 (its Docker Engine could not be asked who it is)')
  t.notMatch(describeBuild(failed), 'ran on', 'a build that ran nowhere (or before Slipway kept it) says nothing of it')
  t.equal(exitCodeOf({ ...failed, status: 'canceled' }), EXIT.canceled)
  t.equal(exitCodeOf({ ...failed, status: 'timed_out' }), EXIT.timedOut)
  t.match(describeBuild({ ...failed, status: 'timed_out' }), /timed out after 3 s/)
})

t.test('a build still going says for how long', async (t) => {
  const created = sampleBuild('01JD7Z0000000000000000000C')
  t.match(describeBuild(created, Date.parse(created.createdAt) + 5000), /^Build \S+ queued 5 s ago\n/)
  const running = { ...created, status: 'running' as const, startedAt: created.createdAt, phases: [{ name: 'build' as const, status: 'running' as const, startedAt: created.createdAt, finishedAt: null, durationMs: null }] }
  t.match(describeBuild(running, Date.parse(created.createdAt) + 65_000), /^Build \S+ running \(build\) for 1 min 5 s\n/)
})

t.test('the layer cache: the hit rate, then the first step that ran and why, under the phases; nothing without a cache summary', async (t) => {
  const step = (instruction: string, line: number, cached: boolean, cacheMiss?: Build['steps'][number]['cacheMiss']) => ({
    stage: null, instruction, status: 'succeeded' as const, cached, startedAt: null, durationMs: 10, line, ...(cacheMiss ? { cacheMiss } : {})
  })
  const build = sampleBuild('01JD7Z0000000000000000000D', {
    status: 'succeeded',
    durationMs: 9000,
    phases: [{ name: 'build', status: 'succeeded', startedAt: '2026-01-02T03:00:00.000Z', finishedAt: '2026-01-02T03:00:09.000Z', durationMs: 9000 }],
    steps: [
      step('RUN apk add python3', 2, true),
      step('WORKDIR /app', 3, true),
      step('COPY . /app', 4, false, { reason: 'files-changed', detail: { summary: 'src/app.py changed', files: ['src/app.py'], fileCount: 1 } }),
      step('RUN python3 -m compileall /app', 5, false, { reason: 'earlier-step-rebuilt', detail: { summary: 'line 4 rebuilt', step: 2 } })
    ],
    cache: {
      comparedWith: '01JD7Z0000000000000000000A',
      steps: 4,
      cached: 2,
      hitRate: 0.5,
      firstMiss: { step: 2, instruction: 'COPY . /app', line: 4, reason: 'files-changed', summary: 'src/app.py changed', followers: 1 }
    }
  })
  const text = describeBuild(build)
  t.match(text, 'phases   build 9 s\n  cache    2 of 4 steps (50%)\n           line 4 COPY . /app rebuilt: src/app.py changed; 1 step after it followed\n')
  t.notMatch(describeBuild({ ...build, cache: null }), 'cache', 'a build without a cache summary says nothing of it')
  t.equal(exitCodeOf(build), EXIT.ok)
})

t.test("a pushed image's signature and attestations, each reference whole; or why it is not signed", async (t) => {
  const reference = (hex: string) => `localhost:5000/acme/app@sha256:${hex.repeat(64)}`
  const pushed = sampleBuild('01JD7Z0000000000000000000E', {
    status: 'succeeded',
    request: { ...defaultRequest('https://github.com/acme/app.git', 'localhost:5000/acme/app'), push: true, sign: true },
    phases: [{ name: 'attest', status: 'succeeded', startedAt: '2026-01-02T03:00:00.000Z', finishedAt: '2026-01-02T03:00:01.000Z', durationMs: 1000 }],
    image: { id: 'sha256:1', repository: 'localhost:5000/acme/app', tags: ['localhost:5000/acme/app:v1'], pushed: true, digest: DIGEST, sizeBytes: 1000, layers: [], baseBytes: 0, addedBytes: 1000, sizeDelta: null, findings: [], budget: null },
    signature: { keyId: `sha256:${'0123456789abcdef'.repeat(4)}`, reference: reference('5') },
    attestations: [
      { predicateType: 'https://slsa.dev/provenance/v1', digest: `sha256:${'1'.repeat(64)}`, reference: reference('a'), signed: true },
      { predicateType: 'https://spdx.dev/Document', digest: `sha256:${'2'.repeat(64)}`, reference: reference('b'), signed: true },
      { predicateType: 'https://cyclonedx.org/bom', digest: `sha256:${'3'.repeat(64)}`, reference: reference('c'), signed: true }
    ]
  })
  t.match(
    describeBuild(pushed),
    [
      '  signed   with key sha256:0123456789ab…',
      `           ${reference('5')}`,
      '  attested provenance, SPDX, CycloneDX (signed)',
      `           provenance ${reference('a')}`,
      `           SPDX       ${reference('b')}`,
      `           CycloneDX  ${reference('c')}`
    ].join('\n')
  )

  const unsigned = { ...pushed, signature: null, attestations: pushed.attestations!.map((attestation) => ({ ...attestation, signed: false })) }
  t.match(describeBuild(unsigned), '  signed   no: the server has no signing key\n  attested provenance, SPDX, CycloneDX (not signed)\n')
  t.match(describeBuild({ ...unsigned, request: { ...unsigned.request, sign: false } }), '  signed   no: the build asked for none (sign: false)')
  t.notMatch(describeBuild({ ...unsigned, attestations: null, phases: [] }), /signed|attested/, 'nothing while the build cannot tell')
  t.notMatch(describeBuild({ ...unsigned, image: { ...unsigned.image!, pushed: false } }), /signed|attested/, 'an image kept on the engine: nothing to sign')
})
