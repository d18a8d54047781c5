import type Docker from 'dockerode'
import type { LogWriter } from '../src/storage/build-log.js'
import type { BuildStore } from '../src/storage/build-store.js'
import type { CacheFacts } from '../src/storage/cache-facts.js'
import type { BuildPackages } from '../src/storage/build-packages.js'
import type { StoredUploads } from '../src/storage/upload-store.js'
import type { RepoPolicy } from '../src/domain/builds/repo-url.js'
import type { Config } from '../src/domain/config.js'
import type { BuildRecord, Builder, RanOn } from '../src/domain/schemas/build.js'
import type { AttemptRecord, BuildProgress } from './build-progress.js'
import type { RegistryAuth, RegistryAuthMap } from './docker/registry-auth.js'
import type { BuildLimits } from './phases/image-build.js'
import type { CloneLimits } from './source/clone-limits.js'
import type { GitAuth } from './source/git-credentials.js'
import type { BuildSecrets } from '../src/storage/secrets.js'
import type { MirrorCache } from './source/git-mirror.js'
import type { ScanCache } from './insight/image-insight.js'
import type { SigningKey } from '../src/domain/supply-chain/signing-key.js'
import type { Installation } from '../src/domain/supply-chain/provenance.js'

/** How the operator set the phases up: the worker's configuration, the same for every build. */
export interface PipelineSettings {
  repoPolicy: RepoPolicy
  builder: Builder | 'auto'
  /** SLIPWAY_BUILD_NETWORK: what RUN steps run on unless a request narrows it to none. */
  network: string
  clone: CloneLimits
  contextMaxBytes: number
  build: BuildLimits
  baseImagePull: Config['baseImagePull']
  /** SLIPWAY_REGISTRY_CACHE: off, no build exports or imports registry cache. */
  registryCache: Config['registryCache']
  /** SLIPWAY_SBOM: off, no build lists its image's packages. */
  sbom: Config['sbom']
  /** SLIPWAY_PROVENANCE: off, no pushed image carries a provenance statement. */
  provenance: Config['provenance']
  /** SLIPWAY_SIGNING_KEY, parsed; null: nothing is signed. */
  signingKey: SigningKey | null
  /** What the provenance names as its builder. */
  installation: Installation
}

/** The credentials one build may use, read once before its first phase. */
export interface BuildCredentials {
  /** For pulling private base images, and registry cache. */
  forBuild: RegistryAuthMap
  /** For the registry the image goes to; none when the build does not push, or has none. */
  forPush: RegistryAuth | undefined
  /** The registry the image is named for. */
  registry: string
  git: GitAuth
  /** The build secrets and SSH keys the build names, by id, for its BuildKit session only. */
  buildSecrets: BuildSecrets
}

/**
 * What one attempt of a build runs its phases with, made by run-build.ts as the attempt starts.
 * No phase takes all of it: each declares the slice it needs (a Pick of these fields, and of
 * `settings` and `credentials` only what it reads).
 */
export interface PipelineContext {
  build: BuildRecord
  /** This attempt's writes to the build record. */
  record: AttemptRecord
  progress: BuildProgress
  log: LogWriter
  /** The build's one signal: its time limit, a cancel, a shutdown. */
  signal: AbortSignal
  /** An empty folder of this attempt's own, removed by the caller afterwards. */
  workspace: string
  /** Hands over work that nothing the build reports waits for (letting go of the mirror): it runs once the build's end is written. */
  afterEnd: (work: () => Promise<unknown>) => void
  store: BuildStore
  /** Uploaded sources, for a build of an upload. */
  uploads: StoredUploads
  /** What reading an image's layers found, kept by image id. */
  imageScans: ScanCache
  /** The newest build's cache facts of each lineage, to explain cache misses with. */
  cacheFacts: CacheFacts
  /** The packages of each build's image, for its software bill of materials. */
  buildPackages: BuildPackages
  docker: Docker
  /** Who that engine is (docker info's ID and Name); null when it could not say. */
  engine: RanOn['engine']
  /** This worker host's mirrors of the repositories it builds. */
  mirrors: MirrorCache
  credentials: BuildCredentials
  settings: PipelineSettings
}
