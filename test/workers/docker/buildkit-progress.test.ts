import protobuf from 'protobufjs'
import t from 'tap'
import { buildkitProgress } from '../../../workers/docker/buildkit-progress.js'
import type { CacheImportResult } from '../../../workers/docker/progress.js'

// BuildKit's registry cache import is a vertex like any step's, but no Dockerfile step: one that
// fails (registry down, image gone) is not the build's failure, BuildKit goes on without it. The
// reader keeps both out of the steps, logs what happened and reports it.

const Status = protobuf
  .parse(`syntax = "proto3";
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message Vertex { string digest = 1; string name = 3; bool cached = 4; Timestamp started = 5; Timestamp completed = 6; string error = 7; }
message StatusResponse { repeated Vertex vertexes = 1; }`)
  .root.lookupType('StatusResponse')

const at = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 })
const trace = (...vertexes: object[]) => ({ id: 'moby.buildkit.trace', aux: Buffer.from(Status.encode(Status.fromObject({ vertexes })).finish()).toString('base64') })

function reader () {
  const lines: string[] = []
  const imports: CacheImportResult[] = []
  const progress = buildkitProgress({
    log: (stream, text) => lines.push(`${stream}: ${text}`),
    pullStatus: () => undefined,
    stepsChanged: () => undefined,
    locate: () => null,
    cacheImported: (result) => imports.push(result)
  })
  return { progress, lines, imports }
}

t.test('a failed import is a log line saying the build goes on without it, never a failed step', async (t) => {
  const { progress, lines, imports } = reader()
  const name = 'importing cache manifest from localhost:5000/team/app@sha256:abc'
  const error = 'failed to do request: Head "http://localhost:5000/v2/team/app/manifests/sha256:abc": dial tcp 127.0.0.1:5000: connect: connection refused'
  progress.read(trace({ digest: 'sha256:imp', name, started: at(1000) }))
  progress.read(trace({ digest: 'sha256:imp', name, started: at(1000), completed: at(1250), error }))
  progress.read(trace({ digest: 'sha256:run', name: '[stage-1 2/2] RUN make', started: at(1300), completed: at(2300) }))
  progress.finish()
  t.same(progress.steps.map((step) => [step.instruction, step.status]), [['RUN make', 'succeeded']], 'only the Dockerfile step is a step')
  t.same(imports, [{ reference: 'localhost:5000/team/app@sha256:abc', durationMs: 250, error }])
  t.ok(lines.includes(`system: Registry cache from localhost:5000/team/app@sha256:abc could not be used (${error}); the build goes on without it`), lines.join('\n'))
  t.notOk(lines.some((line) => line.startsWith('stderr:')), 'nothing on stderr: it is not an error of the build')
  t.equal(progress.fail('later failure').code, 'BUILD_FAILED', 'a later failure of the build does not blame the import')
})

t.test('a successful import is reported once, with its time, and is no step either', async (t) => {
  const { progress, lines, imports } = reader()
  const name = 'importing cache manifest from localhost:5000/team/app:main'
  progress.read(trace({ digest: 'sha256:imp', name, started: at(1000) }))
  progress.read(trace({ digest: 'sha256:imp', name, started: at(1000), completed: at(1400) }))
  progress.read(trace({ digest: 'sha256:imp', name, started: at(1000), completed: at(1400) }))
  progress.read(trace({ digest: 'sha256:run', name: '[builder 2/3] RUN make', cached: true, started: at(1500), completed: at(1500) }))
  t.same(imports, [{ reference: 'localhost:5000/team/app:main', durationMs: 400 }])
  t.same(lines.filter((line) => line.includes('registry cache')), ['system: Imported registry cache from localhost:5000/team/app:main in 0.4s'])
  t.same(progress.steps.map((step) => [step.stage, step.instruction, step.cached]), [['builder', 'RUN make', true]])
})
