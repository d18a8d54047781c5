import type { Step } from '../../src/domain/schemas/build.js'
import { createLineSplitter } from '../line-splitter.js'
import { classifyBuildError } from './build-errors.js'
import type { BuildFailure } from '../../src/domain/builds/build-failure.js'
import type { DockerMessage } from './json-stream.js'
import type { ProgressReader, ProgressSink } from './progress.js'

/**
 * Reads the classic builder's stream: "Step N/M : INSTRUCTION" starts a step, " ---> Using cache"
 * marks it cached, the image id arrives in `aux.ID`.
 */
export function classicProgress (sink: ProgressSink): ProgressReader {
  const steps: Step[] = []
  let current: { step: Step; label: string; started: number } | undefined
  let stages = 0
  let stage = 'stage-0'
  let imageId: string | undefined
  // The intermediate images this build made: a step's " ---> <id>", unless the step was FROM (the
  // base image) or taken from the cache (another build's image).
  const intermediates: string[] = []

  const endCurrent = (status: Step['status']) => {
    if (!current) return
    current.step.status = status
    current.step.durationMs = Date.now() - current.started
    current = undefined
    sink.stepsChanged()
  }

  const output = createLineSplitter((line) => {
    const header = /^Step (\d+)\/\d+ : (.*)$/.exec(line)
    if (header) {
      endCurrent('succeeded')
      const instruction = header[2]!
      const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(instruction)
      // Stages are named as BuildKit names them: their AS name, else stage-<index>.
      if (from) stage = from[1] ?? `stage-${stages}`
      if (from) stages += 1
      const started = Date.now()
      const step: Step = { stage, instruction, status: 'running', cached: false, startedAt: new Date(started).toISOString(), durationMs: null }
      const at = sink.locate({ stage: null, position: Number(header[1]) })
      if (at !== null) step.line = at
      steps.push(step)
      current = { step, label: line, started }
      sink.stepsChanged()
    } else if (/^ ---> Using cache$/.test(line) && current) {
      current.step.cached = true
    } else if (current && !current.step.cached && !/^FROM\s/i.test(current.step.instruction)) {
      const made = /^ ---> ([0-9a-f]{12,64})$/.exec(line)
      if (made) intermediates.push(made[1]!)
    } else if (/^Successfully built /.test(line)) {
      endCurrent('succeeded')
    }
    sink.log('stdout', line)
  })

  return {
    steps,
    get imageId () {
      return imageId
    },
    intermediates,
    read (message: DockerMessage) {
      if (message.stream !== undefined) output.push(message.stream)
      else if (message.status !== undefined) sink.pullStatus(message)
      if (typeof message.aux === 'object' && message.aux.ID) imageId = message.aux.ID
    },
    fail (error: string): BuildFailure {
      output.end()
      const failing = current
      const failure = classifyBuildError(error, failing && { label: failing.label, isFrom: /^FROM\s/i.test(failing.step.instruction) })
      if (failing && failure.details.exitCode !== undefined) failing.step.exitCode = failure.details.exitCode
      endCurrent('failed')
      return failure
    },
    finish () {
      output.end()
      endCurrent('succeeded')
    }
  }
}
