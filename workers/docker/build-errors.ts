import { BuildFailure } from '../../src/domain/builds/build-failure.js'

// How the Engine API words build failures, for both builders (classic | BuildKit):
const EXIT_CODE = /returned a non-zero code: (\d+)|exit code: (\d+)/
const DOCKERFILE_INVALID = /dockerfile parse error|unknown instruction|unknown flag|Dockerfile parse error/i
const TARGET_NOT_FOUND = /failed to reach build target|target stage .* could not be found/i
const PULL_FAILED = /pull access denied|manifest unknown|not found|no such host|repository does not exist|failed to resolve|failed to do request/i

/**
 * A build failure as a person would want it said, with a stable code. `step` is the step the
 * builder was on ("Step 2/5 : RUN make" or "[build 2/4] RUN make"); `fromStep` says whether it was
 * a FROM, where a missing image shows.
 */
export function classifyBuildError (error: string, step: { label: string; isFrom: boolean } | undefined): BuildFailure {
  const details = step ? { step: step.label } : {}
  const where = step?.label ?? 'The build'
  const exit = EXIT_CODE.exec(error)
  if (exit) {
    const exitCode = Number(exit[1] ?? exit[2])
    return new BuildFailure('BUILD_STEP_FAILED', `${where} failed with exit code ${exitCode}. The log shows the step's output.`, { ...details, exitCode })
  }
  if (DOCKERFILE_INVALID.test(error)) {
    return new BuildFailure('DOCKERFILE_INVALID', `Docker could not read the Dockerfile: ${plain(error)}`, details)
  }
  if (TARGET_NOT_FOUND.test(error)) {
    return new BuildFailure('TARGET_NOT_FOUND', `${plain(error)}. Check the stage names (FROM … AS name) in the Dockerfile.`, details)
  }
  // BuildKit resolves every FROM before running anything ("failed to create LLB definition").
  if ((step?.isFrom || /failed to create LLB definition/.test(error)) && PULL_FAILED.test(error)) {
    return new BuildFailure('BASE_IMAGE_NOT_FOUND', `${where}: a base image is not available: ${plain(error)}`, details)
  }
  return new BuildFailure('BUILD_FAILED', `${where}: ${plain(error)}`, details)
}

/** BuildKit's error without its layers of "failed to solve with frontend …:" wrapping. */
function plain (error: string): string {
  return error.replace(/^failed to solve with frontend dockerfile\.v0: (failed to create LLB definition: )?/, '').trim()
}
