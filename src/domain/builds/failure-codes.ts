// Why a build failed, as `error.code` on the build resource: stable, documented, one per cause a
// person would act on differently.
export const FAILURE_CODES = {
  REPO_NOT_FOUND: 'The git host answered, but has no such repository or refused access to it.',
  REPO_UNREACHABLE: 'The repository could not be reached (network, DNS, TLS, or the host is down).',
  REF_NOT_FOUND: 'The ref is not a branch, tag or commit of the repository.',
  CLONE_TIMED_OUT: 'Cloning took longer than SLIPWAY_CLONE_TIMEOUT_SECONDS.',
  CLONE_TOO_LARGE: 'The clone grew past SLIPWAY_CLONE_MAX_BYTES.',
  SUBMODULE_REFUSED: 'A submodule points somewhere the repository policy refuses (a transport, a host, a local path), its folder leads out of the checkout, or its relative URL climbs above its parent.',
  UPLOAD_MISSING: 'The uploaded tar was no longer in Redis when a worker started the build (it outlived its time there); upload it again.',
  UPLOAD_INVALID: 'The uploaded body could not be read as a gzipped tar.',
  UPLOAD_UNSAFE: 'The uploaded tar holds an entry Slipway does not unpack: an absolute path, "..", a link leading out, a hard link or a device.',
  UPLOAD_TOO_LARGE: 'The uploaded tar unpacks to more than SLIPWAY_CLONE_MAX_BYTES, or holds too many entries.',
  CONTEXT_NOT_FOUND: 'The context folder does not exist in the repository at that commit (or in the upload).',
  CONTEXT_TOO_LARGE: 'The build context (after .dockerignore) is larger than SLIPWAY_CONTEXT_MAX_BYTES.',
  DOCKERFILE_NOT_FOUND: 'The Dockerfile does not exist in the repository at that commit.',
  DOCKERFILE_INVALID: 'Docker could not parse the Dockerfile.',
  DOCKERFILE_OUTSIDE_CONTEXT: 'BuildKit was asked for, but the Dockerfile is outside the context; widen the context or use the classic builder.',
  BUILDKIT_NETWORK_UNSUPPORTED: 'BuildKit was asked for, but the server runs builds on a named network (SLIPWAY_BUILD_NETWORK), which only the classic builder can join.',
  TARGET_NOT_FOUND: 'The requested target stage is not in the Dockerfile.',
  BASE_IMAGE_NOT_FOUND: 'A FROM image could not be found or pulled.',
  BUILD_STEP_FAILED: 'A RUN step exited non-zero; `step` and `exitCode` say which and how.',
  BUILD_FAILED: 'Docker reported another build error; the message and the log say which.',
  IMAGE_TOO_LARGE: 'The image is larger than the build\'s maxImageBytes (budgetMode fail); it was not pushed.',
  PUSH_UNAUTHORIZED: 'The registry wanted credentials that Slipway does not have or that it refused.',
  PUSH_DENIED: 'The registry refused the push with these credentials.',
  REGISTRY_UNREACHABLE: 'The registry could not be reached.',
  PUSH_FAILED: 'The registry reported another push error.',
  DOCKER_UNAVAILABLE: 'The Docker Engine could not be reached by the worker.',
  TIMED_OUT: 'The build ran longer than its timeoutSeconds.',
  CANCELED: 'Someone canceled the build (POST /v1/builds/{id}/cancel).',
  SUPERSEDED: 'A newer build of the same repository, ref and image, asked with supersede, replaced it while it was queued.',
  QUEUE_EXPIRED: 'The build waited in the queue longer than SLIPWAY_QUEUE_TTL_SECONDS; no worker was free to take it.',
  WORKER_LOST: 'The workers running the build were lost again and again (killed, or their host died); it was given up.',
  WORKER_CONFIG_INVALID: "The worker's own configuration (its Docker config.json, its build network) is broken; the message says how.",
  INTERNAL: 'Slipway itself failed; the service log has the details.'
} as const

export type FailureCode = keyof typeof FAILURE_CODES
