import { toResource } from '../../src/domain/builds/build-resource.js'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import type { Build, NormalizedRequest } from '../../src/domain/schemas/build.js'

/** A request with every default, as normalizeBuildRequest fills it in for `{ repo }` alone. */
export function defaultRequest (repo: string, image = 'slipway.local/app'): NormalizedRequest {
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
    registryCache: true,
    cacheFrom: [],
    sbom: false,
    provenance: false,
    sign: false,
    secrets: [],
    ssh: [],
    builder: null,
    network: 'default',
    keepGitDir: false,
    submodules: false,
    timeoutSeconds: 3600,
    priority: 'normal',
    force: false,
    supersede: false,
    maxImageBytes: null,
    budgetMode: 'fail',
    variants: [],
    webhooks: [],
    report: null
  }
}

/** A queued build of `defaultRequest`, as the API answers it, with `overrides` applied. */
export function sampleBuild (id: string, overrides: Partial<Build> = {}): Build {
  const record = newBuildRecord(id, defaultRequest('https://github.com/acme/app.git'), new Date('2026-01-02T03:00:00.000Z'))
  return { ...toResource(record), ...overrides }
}
