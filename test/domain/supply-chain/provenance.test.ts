import t from 'tap'
import { provenanceStatement, provenanceUnavailable } from '../../../src/domain/supply-chain/provenance.js'
import type { Build } from '../../../src/domain/schemas/build.js'
import { defaultRequest, sampleBuild } from '../../helpers/fixtures.js'

const DIGEST = `sha256:${'a'.repeat(64)}`
const installation = { publicUrl: 'https://slipway.example.com', version: '1.2.3' }

function pushedBuild (overrides: Partial<Build> = {}): Build {
  const base = sampleBuild('01JBUILD0000000000000000', {})
  return {
    ...base,
    status: 'succeeded',
    request: { ...defaultRequest('https://github.com/acme/app.git', 'registry.example.com/acme/app'), push: true, provenance: true, buildArgs: { VERSION: '1.0', NPM_TOKEN: 'npm_secret' }, secrets: ['npm'] },
    commit: 'c'.repeat(40),
    resolvedRef: 'refs/heads/main',
    startedAt: '2026-01-02T03:00:01.000Z',
    finishedAt: '2026-01-02T03:01:00.000Z',
    builder: 'buildkit',
    phases: [{ name: 'push', status: 'succeeded', startedAt: '2026-01-02T03:00:50.000Z', finishedAt: '2026-01-02T03:00:58.000Z', durationMs: 8000 }],
    baseImages: [
      { name: 'node:20-bookworm-slim', digest: `sha256:${'b'.repeat(64)}`, imageId: `sha256:${'1'.repeat(64)}` },
      { name: 'localhost:5000/team/base:v1', digest: null, imageId: `sha256:${'2'.repeat(64)}` }
    ],
    image: { id: `sha256:${'9'.repeat(64)}`, repository: 'registry.example.com/acme/app', tags: ['registry.example.com/acme/app:cccccccccccc'], pushed: true, digest: DIGEST, sizeBytes: 1, layers: [], baseBytes: 0, addedBytes: 1, sizeDelta: null, findings: [], budget: null },
    ...overrides
  }
}

t.test('a pushed build: its digest as the subject, its commit and base images as what it was made from', async (t) => {
  const statement = provenanceStatement(pushedBuild(), installation)
  t.equal(statement._type, 'https://in-toto.io/Statement/v1')
  t.equal(statement.predicateType, 'https://slsa.dev/provenance/v1')
  t.same(statement.subject, [{ name: 'registry.example.com/acme/app', digest: { sha256: 'a'.repeat(64) } }])
  const { buildDefinition, runDetails } = statement.predicate
  t.same(buildDefinition.resolvedDependencies, [
    { uri: 'git+https://github.com/acme/app.git@refs/heads/main', digest: { gitCommit: 'c'.repeat(40) } },
    { uri: `pkg:docker/node@sha256%3A${'b'.repeat(64)}?tag=20-bookworm-slim`, digest: { sha256: 'b'.repeat(64) } },
    { uri: 'pkg:docker/team/base?repository_url=localhost%3A5000&tag=v1', digest: { sha256: '2'.repeat(64) }, annotations: { digestOf: 'image config (the engine has no registry digest for it)' } }
  ])
  t.same(runDetails, { builder: { id: 'https://slipway.example.com', version: { slipway: '1.2.3' } }, metadata: { invocationId: '01JBUILD0000000000000000', startedOn: '2026-01-02T03:00:01.000Z', finishedOn: '2026-01-02T03:00:58.000Z' } }, 'finished when the image was pushed')
})

t.test('secrets are named, never shown: a build arg named like one is redacted', async (t) => {
  const { externalParameters } = provenanceStatement(pushedBuild(), installation).predicate.buildDefinition
  t.same(externalParameters.buildArgs, { VERSION: '1.0', NPM_TOKEN: '(redacted)' })
  t.same(externalParameters.secrets, ['npm'])
  t.notOk(JSON.stringify(provenanceStatement(pushedBuild(), installation)).includes('npm_secret'))
})

t.test('an upload is named by its sha256', async (t) => {
  const build = pushedBuild({ commit: null, resolvedRef: null })
  build.request = { ...build.request, repo: null, source: { type: 'upload', sha256: 'd'.repeat(64), sizeBytes: 10 } }
  const { buildDefinition } = provenanceStatement(build, installation).predicate
  t.same(buildDefinition.externalParameters.source, { upload: { sha256: 'd'.repeat(64), sizeBytes: 10 } })
  t.same(buildDefinition.resolvedDependencies[0], { uri: `upload:sha256:${'d'.repeat(64)}`, digest: { sha256: 'd'.repeat(64) } })
})

t.test('no statement without a pushed, succeeded build that asked for one', async (t) => {
  t.equal(provenanceUnavailable(pushedBuild()), null)
  t.match(provenanceUnavailable(pushedBuild({ status: 'failed' })), /not succeeded \(status failed\)/)
  t.match(provenanceUnavailable(pushedBuild({ image: { ...pushedBuild().image!, pushed: false, digest: null } })), /pushed no image/)
  const optedOut = pushedBuild()
  optedOut.request = { ...optedOut.request, provenance: false }
  t.match(provenanceUnavailable(optedOut), /did not ask for provenance/)
})
