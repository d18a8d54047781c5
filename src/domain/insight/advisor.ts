import { Add, Copy } from 'dockerfile-ast'
import { smallerVariant } from './base-images.js'
import { lineOf, stageChain, stageLabel, type DockerfileStage, type ParsedDockerfile } from './dockerfile-stages.js'
import { analyzeRuns, coversCache, isBuildTool, packageName, type CacheKind, type RunFacts } from './run-facts.js'
import type { Word } from './shell-commands.js'
import type { Finding, RuleId } from '../schemas/insight.js'

/**
 * The size advisor: reads a Dockerfile (no build needed) and points at the well-known causes of
 * big images, each finding saying what to change. The Dockerfile's stage structure is in
 * dockerfile-stages.ts, the reading of RUN commands in shell-commands.ts and run-facts.ts, and
 * the base image variants in base-images.ts; this module holds the rules themselves (RULES,
 * one small function per rule id, each reading the same Reading of the Dockerfile).
 */

export const ADVISOR_RULES: Record<RuleId, { title: string; advice: string }> = {
  'build-tools-in-final-stage': {
    title: 'Build tools in the final image',
    advice:
      'Compilers, make, git and -dev/-devel header packages are needed to build, not to run. Install them in a builder stage, build there, and COPY --from=builder only the result (a binary, wheels, node_modules) into a final stage that installs runtime libraries only.'
  },
  'package-cache-kept': {
    title: 'Package manager cache kept in a layer',
    advice:
      'Clean the cache in the same RUN that fills it: apt-get ... && rm -rf /var/lib/apt/lists/*, apk add --no-cache, pip install --no-cache-dir, npm ci && npm cache clean --force, dnf/yum install ... && dnf/yum clean all. A later RUN that deletes it does not shrink the image. A RUN --mount=type=cache on the cache directory keeps it out of the image too.'
  },
  'apt-update-alone': {
    title: 'apt-get update in a RUN of its own',
    advice:
      'Docker caches the update layer, so a later apt-get install works from stale package lists, and the lists ship in that layer. Update, install and remove the lists in one RUN: apt-get update && apt-get install -y --no-install-recommends ... && rm -rf /var/lib/apt/lists/*.'
  },
  'apt-no-install-recommends': {
    title: 'apt-get install pulls recommended packages',
    advice: 'apt installs "Recommends" packages by default, often tens of MB nobody asked for. Add --no-install-recommends to apt-get install.'
  },
  'source-before-dependencies': {
    title: 'Source copied before dependencies are installed',
    advice:
      'Copying the whole context before installing dependencies re-runs the install on every source change. COPY the dependency manifests (requirements.txt, package.json and its lock file, go.mod/go.sum, ...) first, install, then COPY the rest.'
  },
  'no-dockerignore': {
    title: 'No .dockerignore',
    advice:
      'Without a .dockerignore, COPY . sends and copies .git, node_modules, build output and caches into the image. Add a .dockerignore listing them.'
  },
  'full-base-image': {
    title: 'Full base image where a smaller variant exists',
    advice:
      'The final stage starts from a full image (a whole Debian with compilers, or a JDK or Go/Rust toolchain). Use the -slim or -alpine variant, a JRE instead of a JDK, or for Go and Rust build in one stage and copy the binary into scratch or distroless.'
  },
  'files-deleted-later': {
    title: 'Files deleted in a later layer',
    advice:
      'Deleting files in a later instruction hides them but the earlier layer still ships them. Delete them in the same RUN that creates them, or create them in a builder stage and copy only what is needed.'
  }
}

export interface AdviseInput {
  /** From parseDockerfile, with the build's args. */
  dockerfile: ParsedDockerfile
  target?: string | null
  context?: { hasDockerignore: boolean; rootNames: string[] }
}

/** What the rules read: the Dockerfile, every RUN's facts, and the stages the final image is built from. */
interface Reading {
  parsed: ParsedDockerfile
  /** null when the target names no stage or there is no FROM. */
  chain: DockerfileStage[] | null
  runs: RunFacts[]
  /** The RUNs in the final image's stage chain: what a build tool or a cache left there ships. */
  finalRuns: RunFacts[]
  context: AdviseInput['context']
}

/** A rule: the findings it sees in a reading, in Dockerfile order. */
type Rule = (reading: Reading) => Finding[]

/** Every rule the advisor runs; files-deleted-later needs the built image, so the worker measures it. */
const RULES: Record<Exclude<RuleId, 'files-deleted-later'>, Rule> = {
  'build-tools-in-final-stage': buildToolsInFinalStage,
  'package-cache-kept': packageCacheKept,
  'apt-update-alone': aptUpdateAlone,
  'apt-no-install-recommends': aptNoInstallRecommends,
  'source-before-dependencies': sourceBeforeDependencies,
  'no-dockerignore': noDockerignore,
  'full-base-image': fullBaseImage
}

/** Reads a Dockerfile and reports the well-known causes of big images, with what to change. */
export function adviseDockerfile (input: AdviseInput): Finding[] {
  const parsed = input.dockerfile
  const chain = stageChain(parsed, input.target)
  const inChain = new Set(chain ?? [])
  const runs = analyzeRuns(parsed)
  const reading: Reading = { parsed, chain, runs, finalRuns: runs.filter((run) => inChain.has(run.stage)), context: input.context }
  const findings = Object.values(RULES).flatMap((rule) => rule(reading))
  const order = Object.keys(ADVISOR_RULES)
  return findings.sort((a, b) => (a.lines[0] ?? 0) - (b.lines[0] ?? 0) || order.indexOf(a.rule) - order.indexOf(b.rule))
}

/** apt-get update with nothing using the lists in the same RUN (any stage: its layer is cached either way). */
function aptUpdateAlone ({ runs }: Reading): Finding[] {
  return runs
    .filter((run) => run.aptUpdates.length > 0 && run.aptListUsers === 0)
    .map((run) => ({
      rule: 'apt-update-alone',
      lines: [run.line],
      stage: stageLabel(run.stage),
      message: `\`${run.aptUpdates[0]!.words[0]!.text} update\` runs in a RUN of its own: its layer is cached, so a later install works from stale package lists, and the lists ship in this layer. Update, install and clean in one RUN: \`apt-get update && apt-get install -y --no-install-recommends <packages> && rm -rf /var/lib/apt/lists/*\`.`
    }))
}

function buildToolsInFinalStage ({ finalRuns }: Reading): Finding[] {
  return finalRuns.flatMap((run): Finding[] => {
    const tools = buildToolsKept(run)
    if (tools.length === 0) return []
    const names = tools.map((t) => t.text)
    const where = tools.some((t) => t.line !== run.line) ? ` (RUN at line ${run.line}, ${tools.map((t) => `${t.text} on line ${t.line}`).join(', ')})` : ''
    const headers = names.some((n) => /-(dev|devel)$/.test(n)) ? ' (the library package without -dev/-devel)' : ''
    return [
      {
        rule: 'build-tools-in-final-stage',
        lines: [run.line],
        stage: stageLabel(run.stage),
        message: `The final image installs build tools: ${names.join(', ')}${where}. Install them in a builder stage (FROM ${rootImage(run.stage) ?? '<base>'} AS builder), build there, and COPY --from=builder only the result (a binary, wheels, node_modules); install only runtime libraries here${headers}.`
      }
    ]
  })
}

/** The build tools a RUN installs and does not remove again (by name, or through an apk virtual package). */
function buildToolsKept (run: RunFacts): Word[] {
  const tools: Word[] = []
  for (const install of run.packageInstalls) {
    if (install.virtual !== null && run.removed.has(install.virtual.toLowerCase())) continue
    for (const pkg of install.packages) {
      const name = packageName(pkg.text)
      if (isBuildTool(name) && !run.removed.has(name) && !tools.some((t) => t.text === pkg.text)) tools.push(pkg)
    }
  }
  return tools
}

function aptNoInstallRecommends ({ finalRuns }: Reading): Finding[] {
  return finalRuns.flatMap((run): Finding[] => {
    const first = run.packageInstalls.find((i) => i.manager === 'apt' && !i.noRecommends && i.packages.length > 0)
    if (!first || run.recommendsConfigured) return []
    const packages = first.packages.slice(0, 3).map((p) => p.text).join(' ') + (first.packages.length > 3 ? ' ...' : '')
    return [
      {
        rule: 'apt-no-install-recommends',
        lines: [run.line],
        stage: stageLabel(run.stage),
        message: `\`${first.program} install ${packages}\` without --no-install-recommends also installs every package they recommend: write \`${first.program} install -y --no-install-recommends\`.`
      }
    ]
  })
}

/** The image a stage is built on, through its FROM <stage> chain. */
function rootImage (stage: DockerfileStage): string | null {
  let root = stage
  while (root.parent) root = root.parent
  return root.image
}

function uniqueLines (lines: number[]): number[] {
  return [...new Set(lines)].sort((a, b) => a - b)
}

/** One finding per package manager whose cache stays in a RUN's layer of the final image. */
function packageCacheKept ({ finalRuns }: Reading): Finding[] {
  return finalRuns.flatMap((run) => {
    const cleaned = (kind: CacheKind): boolean => run.removedPaths.some((p) => coversCache(kind, p)) || run.cacheMounts.some((p) => coversCache(kind, p))
    return CACHE_CHECKS.flatMap((check) => check(run, cleaned) ?? []).map(
      (message): Finding => ({ rule: 'package-cache-kept', lines: [run.line], stage: stageLabel(run.stage), message })
    )
  })
}

/**
 * One package manager's cache: what to change when the RUN leaves it in the layer, else null.
 * `cleaned` says whether the RUN removed the cache directory or mounted a cache over it.
 */
type CacheCheck = (run: RunFacts, cleaned: (kind: CacheKind) => boolean) => string | null

const CACHE_CHECKS: CacheCheck[] = [aptLists, apkIndex, yumCache, pipCache, npmCache]

function aptLists (run: RunFacts, cleaned: (kind: CacheKind) => boolean): string | null {
  const apt = run.packageInstalls.find((i) => i.manager === 'apt' && i.packages.length > 0)
  if (!apt || cleaned('apt')) return null
  // Say why the cleaning the RUN does is not enough, when it does some.
  const mountOnly = run.cacheMounts.some((p) => p === '/var/cache/apt')
    ? ' (the cache mount on /var/cache/apt does not cover /var/lib/apt/lists)'
    : run.aptCleaned
      ? ' (apt-get clean empties /var/cache/apt/archives, not the lists)'
      : ''
  return `\`${apt.program} install\` leaves the package lists in /var/lib/apt/lists${mountOnly}: end the same RUN with \`&& rm -rf /var/lib/apt/lists/*\`.`
}

function apkIndex (run: RunFacts, cleaned: (kind: CacheKind) => boolean): string | null {
  const apk = run.packageInstalls.find((i) => i.manager === 'apk' && !i.noCache)
  if (!apk || cleaned('apk')) return null
  return '`apk add` without --no-cache leaves the package index in /var/cache/apk: write `apk add --no-cache ...`.'
}

function yumCache (run: RunFacts, cleaned: (kind: CacheKind) => boolean): string | null {
  const yum = run.packageInstalls.find((i) => i.manager === 'yum')
  if (!yum || run.yumCleaned || cleaned('yum')) return null
  return `\`${yum.program} install\` leaves its metadata and packages in /var/cache: end the same RUN with \`&& ${yum.program} clean all\`.`
}

function pipCache (run: RunFacts, cleaned: (kind: CacheKind) => boolean): string | null {
  // PIP_NO_CACHE_DIR turns the cache off, set by ENV/ARG or in front of the command.
  const pip = run.pipInstalls.find((i) => !i.noCache && !i.packagingOnly && !run.vars.get('PIP_NO_CACHE_DIR') && !i.command.env.get('PIP_NO_CACHE_DIR'))
  if (!pip || run.pipCachePurged || cleaned('pip')) return null
  return '`pip install` without --no-cache-dir keeps the downloaded packages in ~/.cache/pip: write `pip install --no-cache-dir ...` (or set ENV PIP_NO_CACHE_DIR=1).'
}

function npmCache (run: RunFacts, cleaned: (kind: CacheKind) => boolean): string | null {
  const npm = run.npmInstalls[0]
  if (!npm || run.npmCacheCleaned || cleaned('npm')) return null
  return `\`${npm.display}\` keeps its download cache in ~/.npm: end the same RUN with \`&& npm cache clean --force\` (or use RUN --mount=type=cache,target=/root/.npm).`
}

const WHOLE_CONTEXT = new Set(['.', './', '*', './*', '/', '/*', './.'])

/** COPY/ADD of the whole context (not --from): `.`, `./`, `*`. */
function wholeContextCopies (stage: DockerfileStage): (Copy | Add)[] {
  return stage.instructions.filter((instruction): instruction is Copy | Add => {
    if (!(instruction instanceof Copy) && !(instruction instanceof Add)) return false
    if (instruction.getFlags().some((flag) => flag.getName() === 'from')) return false
    const raw = (instruction.getRawArgumentsContent() ?? '').trim()
    let args: string[]
    try {
      const json: unknown = raw.startsWith('[') ? JSON.parse(raw) : null
      args = Array.isArray(json) ? json.map(String) : instruction.getArguments().map((a) => a.getValue())
    } catch {
      args = instruction.getArguments().map((a) => a.getValue())
    }
    if (args.some((a) => a.startsWith('<<'))) return false
    return args.slice(0, -1).some((source) => WHOLE_CONTEXT.has(source.replace(/^["']|["']$/g, '')))
  })
}

function sourceBeforeDependencies ({ parsed, runs }: Reading): Finding[] {
  const findings: Finding[] = []
  for (const stage of parsed.stages) {
    const copies = wholeContextCopies(stage)
    if (copies.length === 0) continue
    for (const run of runs.filter((r) => r.stage === stage)) {
      const copy = copies.find((c) => lineOf(c) < run.line)
      const install = run.dependencyInstalls[0]
      if (!copy || !install) continue
      const copyText = `${copy.getKeyword()} ${(copy.getRawArgumentsContent() ?? '').replace(/\s+/g, ' ').trim()}`
      findings.push({
        rule: 'source-before-dependencies',
        lines: uniqueLines([lineOf(copy), run.line]),
        stage: stageLabel(stage),
        message: `\`${copyText}\` (line ${lineOf(copy)}) comes before \`${install.display}\` (line ${run.line}), so every source change re-runs the install. COPY ${install.manifests} first, run the install, then COPY the rest.`
      })
    }
  }
  return findings
}

const IGNORABLE = ['.git', 'node_modules', 'vendor', '__pycache__', '.venv', 'venv', 'target', 'dist', 'build', '.tox', 'coverage']

function noDockerignore ({ parsed, context }: Reading): Finding[] {
  if (!context || context.hasDockerignore) return []
  const present = IGNORABLE.filter((name) => context.rootNames.includes(name))
  const copies = parsed.stages.flatMap(wholeContextCopies)
  if (present.length === 0 || copies.length === 0) return []
  return [
    {
      rule: 'no-dockerignore',
      lines: uniqueLines(copies.map(lineOf)),
      stage: null,
      message: `There is no .dockerignore, so \`${copies[0]!.getKeyword()} ${(copies[0]!.getRawArgumentsContent() ?? '').trim()}\` sends and copies ${present.join(', ')} into the image: add a .dockerignore listing ${present.join(', ')}.`
    }
  ]
}

function fullBaseImage ({ chain }: Reading): Finding[] {
  if (!chain) return []
  const root = chain[0]!
  const final = chain.at(-1)!
  if (!root.image) return []
  const variant = smallerVariant(root.image)
  if (!variant) return []
  const viaStage = root !== final ? ` (through ${chain.slice(1).map((s) => `FROM ${s.image}`).join(', ')})` : ''
  return [
    {
      rule: 'full-base-image',
      lines: uniqueLines([...root.argLines, root.line, final.line]),
      stage: stageLabel(root),
      message: `The final image is based on ${variant.current}${viaStage}; use ${variant.suggestion}.`
    }
  ]
}
