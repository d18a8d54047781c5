import type { Step } from '../../src/domain/schemas/build.js'
import type { BuildFailure } from '../../src/domain/builds/build-failure.js'
import type { DockerMessage } from './json-stream.js'

/** Where a builder's progress goes: log lines, and a nudge when the steps changed. */
export interface ProgressSink {
  log(stream: 'stdout' | 'stderr' | 'system', text: string): void
  /** A base image pull's change of state (not its byte counts). */
  pullStatus(message: DockerMessage): void
  stepsChanged(): void
  /**
   * The Dockerfile line of a step, from where the builder says it is: BuildKit's stage and place
   * among the stage's steps, the classic builder's step number (stage null); null when unknown.
   */
  locate(where: { stage: string | null; position: number }): number | null
  /** BuildKit finished importing registry cache from `reference`; `error` when it could not. */
  cacheImported?(result: CacheImportResult): void
}

export interface CacheImportResult {
  reference: string
  error?: string
  durationMs: number | null
}

/** Reads one builder's build stream into log lines, steps and the image id. */
export interface ProgressReader {
  readonly steps: Step[]
  readonly imageId: string | undefined
  /** Images the builder made on the way (the classic builder's intermediate images; none for BuildKit), oldest first. */
  readonly intermediates: string[]
  read(message: DockerMessage): void
  /** The stream reported `error`: marks the step it was on failed and says why, with a code. */
  fail(error: string): BuildFailure
  /** The stream ended without an error. */
  finish(): void
}
