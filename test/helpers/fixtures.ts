import { DEFAULT_TIMEOUT_SECONDS, type NormalizedRequest } from '../../src/schemas/build.js'

/** A request with every default, as normalizeBuildRequest fills it in for `{ repo }` alone. */
export function defaultRequest(repo: string, image = 'slipway/app'): NormalizedRequest {
  return {
    repo,
    ref: null,
    context: '.',
    dockerfile: 'Dockerfile',
    target: null,
    buildArgs: {},
    labels: {},
    image,
    tags: null,
    push: false,
    noCache: false,
    builder: null,
    keepGitDir: false,
    timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
    webhooks: []
  }
}
