import type { Step } from '../../src/domain/schemas/build.js'
import type { BuildFailure } from '../../src/domain/builds/build-failure.js'
import { createLineSplitter } from '../line-splitter.js'
import { classifyBuildError } from './build-errors.js'
import { decodeBuildkitStatus, type BuildkitVertex } from './buildkit-status.js'
import type { DockerMessage } from './json-stream.js'
import type { ProgressReader, ProgressSink } from './progress.js'

interface Tracked {
  number: number
  name: string
  step: Step
  splitters: Map<number, ReturnType<typeof createLineSplitter>>
}

/**
 * Reads BuildKit's stream: each `moby.buildkit.trace` message updates vertices (the steps) and
 * carries their output; the log reads like `--progress=plain` ("#3 [build 2/4] RUN make", its
 * output as "#3 …", then "#3 DONE 1.2s" or "#3 CACHED").
 */
export function buildkitProgress (sink: ProgressSink): ProgressReader {
  const steps: Step[] = []
  const vertices = new Map<string, Tracked>()
  // Registry cache imports: BuildKit's vertices, but no Dockerfile step's. One that fails is not
  // the build's failure (BuildKit goes on without that cache), so they are log lines, never steps.
  const imports = new Map<string, { reference: string; done: boolean }>()
  let imageId: string | undefined

  const cacheImport = (vertex: BuildkitVertex, reference: string) => {
    let tracked = imports.get(vertex.digest)
    if (!tracked) imports.set(vertex.digest, (tracked = { reference, done: false }))
    if (vertex.completed === undefined || tracked.done) return
    tracked.done = true
    const durationMs = vertex.started === undefined ? null : vertex.completed - vertex.started
    if (vertex.error) sink.log('system', `Registry cache from ${reference} could not be used (${vertex.error}); the build goes on without it`)
    else sink.log('system', `Imported registry cache from ${reference}${durationMs === null ? '' : ` in ${(durationMs / 1000).toFixed(1)}s`}`)
    sink.cacheImported?.({ reference, durationMs, ...(vertex.error ? { error: vertex.error } : {}) })
  }

  const track = (vertex: BuildkitVertex): Tracked => {
    let tracked = vertices.get(vertex.digest)
    if (!tracked) {
      const { stage, instruction, position } = parseVertexName(vertex.name)
      const step: Step = { stage, instruction, status: 'running', cached: false, startedAt: null, durationMs: null }
      const line = position === null ? null : sink.locate({ stage, position })
      if (line !== null) step.line = line
      tracked = { number: vertices.size + 1, name: vertex.name, step, splitters: new Map() }
      vertices.set(vertex.digest, tracked)
      steps.push(step)
    }
    return tracked
  }

  const update = (vertex: BuildkitVertex) => {
    const importing = CACHE_IMPORT.exec(vertex.name)
    if (importing) return cacheImport(vertex, importing[1]!)
    const { number, step } = track(vertex)
    const wasStarted = step.startedAt !== null
    const wasDone = step.status !== 'running'
    step.cached = vertex.cached
    if (vertex.started !== undefined) step.startedAt = new Date(vertex.started).toISOString()
    if (!wasStarted && vertex.started !== undefined) sink.log('stdout', `#${number} ${vertex.name}`)
    if (vertex.completed !== undefined && !wasDone) {
      step.status = vertex.error ? 'failed' : 'succeeded'
      step.durationMs = vertex.started === undefined ? 0 : vertex.completed - vertex.started
      const exit = vertex.error ? /exit code: (\d+)/.exec(vertex.error) : null
      if (exit) step.exitCode = Number(exit[1])
      if (vertex.error) sink.log('stderr', `#${number} ERROR: ${vertex.error}`)
      else sink.log('stdout', `#${number} ${vertex.cached ? 'CACHED' : `DONE ${((step.durationMs ?? 0) / 1000).toFixed(1)}s`}`)
    }
  }

  const output = (digest: string, stream: number, text: string) => {
    const tracked = vertices.get(digest)
    if (!tracked) return
    let splitter = tracked.splitters.get(stream)
    if (!splitter) {
      splitter = createLineSplitter((line) => sink.log(stream === 2 ? 'stderr' : 'stdout', `#${tracked.number} ${line}`))
      tracked.splitters.set(stream, splitter)
    }
    splitter.push(text)
  }

  const endOutput = () => {
    for (const tracked of vertices.values()) for (const splitter of tracked.splitters.values()) splitter.end()
  }

  return {
    steps,
    get imageId () {
      return imageId
    },
    // BuildKit keeps what it made as build cache, pruned to its budget, never as images.
    intermediates: [],
    read (message: DockerMessage) {
      if (message.id === 'moby.buildkit.trace' && typeof message.aux === 'string') {
        const status = decodeBuildkitStatus(message.aux)
        for (const vertex of status.vertexes) update(vertex)
        for (const log of status.logs) output(log.vertex, log.stream, log.msg.toString('utf8'))
        for (const warning of status.warnings) {
          const number = vertices.get(warning.vertex)?.number
          sink.log('stderr', `${number ? `#${number} ` : ''}WARNING: ${warning.short.toString('utf8')}`)
        }
        if (status.vertexes.length > 0) sink.stepsChanged()
      } else if (message.id === 'moby.image.id' && typeof message.aux === 'object' && message.aux?.ID) {
        imageId = message.aux.ID
      } else if (message.stream !== undefined) {
        for (const line of message.stream.split('\n')) if (line) sink.log('stdout', line)
      }
    },
    fail (error: string): BuildFailure {
      endOutput()
      const failed = [...vertices.values()].find((tracked) => tracked.step.status === 'failed')
      return classifyBuildError(error, failed && { label: failed.name, isFrom: /^FROM\s/i.test(failed.step.instruction) })
    },
    finish () {
      endOutput()
    }
  }
}

// BuildKit's name for the vertex that reads an image's inline cache metadata from its registry.
const CACHE_IMPORT = /^importing cache manifest from (\S+)$/

/**
 * "[build 2/4] RUN make" → stage "build", instruction "RUN make", position 2 (FROM is 1); a
 * Dockerfile of one stage has "[2/4] RUN make", without the stage; "[internal] load …" and others
 * have no stage and no position.
 */
export function parseVertexName (name: string): { stage: string | null; instruction: string; position: number | null } {
  const staged = /^\[(?:(\S+) )?(\d+)\/\d+\] (.*)$/s.exec(name)
  if (staged) return { stage: staged[1] ?? null, instruction: staged[3]!, position: Number(staged[2]) }
  const internal = /^\[internal\] (.*)$/s.exec(name)
  return { stage: null, instruction: internal ? internal[1]! : name, position: null }
}
