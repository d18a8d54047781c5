import type { DockerfileFacts } from '../../src/domain/insight/step-facts.js'
import type { Step } from '../../src/domain/schemas/build.js'

/**
 * The steps BuildKit reports for a Dockerfile (one per FROM, RUN, COPY, ADD and WORKDIR, each on
 * its line), as the worker hands them to the cache explanation: those `ran` says ran, the rest
 * came from the cache.
 */
export function buildkitSteps (facts: DockerfileFacts, ran: (fact: DockerfileFacts['instructions'][number]) => boolean): Step[] {
  return facts.instructions
    .filter((fact) => ['FROM', 'RUN', 'COPY', 'ADD', 'WORKDIR'].includes(fact.keyword))
    .map((fact) => ({
      stage: fact.stage,
      instruction: fact.expanded,
      status: 'succeeded',
      cached: fact.keyword !== 'FROM' && !ran(fact),
      startedAt: null,
      durationMs: 0,
      line: fact.line
    }))
}
