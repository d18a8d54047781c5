import { Run } from 'dockerfile-ast'
import { lineOf, walkStages, type DockerfileStage, type ParsedDockerfile } from './dockerfile-stages.js'
import { basename, runCommands, type Command, type Word } from './shell-commands.js'

/**
 * What one RUN does, as far as image size goes: the packages it installs and removes (apt, apk,
 * yum/dnf), pip and npm installs and whether they keep their caches, the dependency installs
 * (npm ci, pip install -r, go mod download, ...), the paths it deletes and its cache mounts. The
 * advisor's rules are then judgements over these facts; keeping the command reading apart from
 * them keeps each rule short and lets every rule see the same reading of a command.
 */

export type CacheKind = 'apt' | 'apk' | 'pip' | 'npm' | 'yum'

interface PackageInstall {
  manager: 'apt' | 'apk' | 'yum'
  /** The program as written (apt-get, apk, dnf, ...). */
  program: string
  command: Command
  packages: Word[]
  noCache: boolean
  noRecommends: boolean
  virtual: string | null
}

interface DependencyInstall {
  command: Command
  /** How the message shows the command. */
  display: string
  /** The files to COPY first. */
  manifests: string
}

export interface RunFacts {
  instruction: Run
  stage: DockerfileStage
  line: number
  packageInstalls: PackageInstall[]
  aptUpdates: Command[]
  /** apt-get install/upgrade-like commands that use the package lists. */
  aptListUsers: number
  pipInstalls: { command: Command; noCache: boolean; packagingOnly: boolean }[]
  npmInstalls: { command: Command; display: string }[]
  dependencyInstalls: DependencyInstall[]
  /** Package names (and apk virtual names) removed in this RUN. */
  removed: Set<string>
  /** Normalized paths given to rm. */
  removedPaths: string[]
  npmCacheCleaned: boolean
  pipCachePurged: boolean
  /** `apt-get clean` ran (it empties /var/cache/apt/archives, not the lists). */
  aptCleaned: boolean
  yumCleaned: boolean
  /** Targets of --mount=type=cache / type=tmpfs. */
  cacheMounts: string[]
  /** The variables (ARG and ENV) in effect. */
  vars: Map<string, string | null>
  /** An earlier RUN of the stage chain wrote APT::Install-Recommends "0" into apt's configuration. */
  recommendsConfigured: boolean
}

const APT_VALUE_OPTIONS = new Set(['-o', '-c', '-t', '--option', '--config-file', '--target-release', '--default-release'])
const APK_VALUE_OPTIONS = new Set(['-t', '--virtual', '-X', '--repository', '-p', '--root', '--arch', '--keys-dir', '--repositories-file', '--cache-dir'])
const NPM_VALUE_OPTIONS = new Set(['--prefix', '-C', '--cache', '--registry', '-w', '--workspace', '--omit', '--include'])
const PIP_VALUE_OPTIONS = new Set([
  '-r', '--requirement', '-c', '--constraint', '-e', '--editable', '-i', '--index-url', '--extra-index-url', '-f', '--find-links',
  '-t', '--target', '--prefix', '--root', '--platform', '--python-version', '--implementation', '--abi', '--trusted-host',
  '--cache-dir', '--src', '--upgrade-strategy', '--progress-bar', '--log', '--proxy', '--retries', '--timeout', '--exists-action',
  '--cert', '--client-cert', '--global-option', '-C', '--config-settings', '--only-binary', '--no-binary', '--report', '--python'
])

/**
 * Every RUN's facts, stage by stage in order, each read with the variables it sees (walkStages).
 * Whether apt's recommends were turned off carries from a stage into those built FROM it.
 */
export function analyzeRuns (parsed: ParsedDockerfile): RunFacts[] {
  const recommendsOff = new Map<DockerfileStage, boolean>()
  const inherited = (stage: DockerfileStage | null): boolean => (stage ? (recommendsOff.get(stage) ?? inherited(stage.parent)) : false)
  const runs: RunFacts[] = []
  walkStages(parsed, (instruction, stage, scope) => {
    if (!recommendsOff.has(stage)) recommendsOff.set(stage, inherited(stage.parent))
    if (!(instruction instanceof Run)) return
    const facts = analyzeRun(instruction, stage, parsed.escapeChar, new Map(scope.vars))
    if (/APT::Install-Recommends\s*"?(0|false)/i.test(instruction.getRawArgumentsContent() ?? '')) recommendsOff.set(stage, true)
    facts.recommendsConfigured = recommendsOff.get(stage)!
    runs.push(facts)
  })
  return runs
}

/**
 * Reads one RUN: each command goes to its program's handler (PROGRAMS), programs without one add
 * nothing. `vars` are the ARG and ENV values in effect, so that `apt-get install $BUILD_DEPS` is
 * read with the packages it names.
 */
export function analyzeRun (instruction: Run, stage: DockerfileStage, escapeChar: string, vars: Map<string, string | null>): RunFacts {
  const facts = noFacts(instruction, stage, vars)
  for (const command of runCommands(instruction, escapeChar)) {
    const words = command.words.flatMap((word) => expandWord(word, vars))
    const program = basename(words[0]?.text ?? '')
    handlerOf(program)?.({ command, program, args: words.slice(1) }, facts)
  }
  return facts
}

function noFacts (instruction: Run, stage: DockerfileStage, vars: Map<string, string | null>): RunFacts {
  return {
    instruction,
    stage,
    line: lineOf(instruction),
    packageInstalls: [],
    aptUpdates: [],
    aptListUsers: 0,
    pipInstalls: [],
    npmInstalls: [],
    dependencyInstalls: [],
    removed: new Set(),
    removedPaths: [],
    npmCacheCleaned: false,
    pipCachePurged: false,
    aptCleaned: false,
    yumCleaned: false,
    cacheMounts: cacheMounts(instruction),
    vars,
    recommendsConfigured: false
  }
}

/** One command of a RUN, variables expanded: the program (basename) and the words after it. */
interface ProgramCall {
  command: Command
  program: string
  args: Word[]
}

/** Reads what one program does into the RUN's facts. */
type ProgramHandler = (call: ProgramCall, facts: RunFacts) => void

/**
 * Another ecosystem's dependency install: how the message shows it and the manifests to COPY
 * first; null when the command is something else. `sub` is the first word that is not an option.
 */
type Installer = (sub: string | undefined, args: string[], program: string) => { display: string; manifests: string } | null

const INSTALLERS: Record<string, Installer> = {
  poetry: (sub) => (sub === 'install' ? { display: 'poetry install', manifests: 'pyproject.toml and poetry.lock' } : null),
  pipenv: (sub) => (sub === 'install' || sub === 'sync' ? { display: `pipenv ${sub}`, manifests: 'Pipfile and Pipfile.lock' } : null),
  yarn: (sub) => (sub === undefined || sub === 'install' ? { display: sub ? 'yarn install' : 'yarn', manifests: 'package.json and yarn.lock' } : null),
  pnpm: (sub) => (sub === 'install' || sub === 'i' ? { display: `pnpm ${sub}`, manifests: 'package.json and pnpm-lock.yaml' } : null),
  bundle: bundler,
  bundler,
  go: (sub, args) => (sub === 'mod' && args.includes('download') ? { display: 'go mod download', manifests: 'go.mod and go.sum' } : null),
  mvn: maven,
  mvnw: maven,
  gradle,
  gradlew: gradle,
  composer: (sub) => (sub === 'install' ? { display: 'composer install', manifests: 'composer.json and composer.lock' } : null),
  cargo: (sub) =>
    sub === 'fetch' || sub === 'build' ? { display: `cargo ${sub}`, manifests: 'Cargo.toml and Cargo.lock (with a stub src/main.rs to build the dependencies)' } : null
}

function bundler (sub: string | undefined): ReturnType<Installer> {
  return sub === undefined || sub === 'install' ? { display: 'bundle install', manifests: 'Gemfile and Gemfile.lock' } : null
}

function maven (_sub: string | undefined, args: string[]): ReturnType<Installer> {
  const goal = args.find((a) => a.startsWith('dependency:'))
  return goal ? { display: `mvn ${goal}`, manifests: 'pom.xml' } : null
}

function gradle (_sub: string | undefined, args: string[], program: string): ReturnType<Installer> {
  return args.includes('dependencies') ? { display: `${program} dependencies`, manifests: 'build.gradle(.kts) and settings.gradle(.kts)' } : null
}

function dependencyInstaller (installer: Installer): ProgramHandler {
  return ({ command, program, args }, facts) => {
    const texts = args.map((w) => w.text)
    const dependency = installer(texts.find((a) => !a.startsWith('-')), texts, program)
    if (dependency) facts.dependencyInstalls.push({ command, ...dependency })
  }
}

/**
 * The programs whose commands matter for size, by name. pip also runs as pip3, pip3.11 and
 * `python3 -m pip`, which a name table cannot list, so handlerOf matches those by pattern.
 */
const PROGRAMS = new Map<string, ProgramHandler>([
  ['apt-get', apt],
  ['apt', apt],
  ['apk', apk],
  ...['yum', 'dnf', 'microdnf', 'tdnf'].map((name): [string, ProgramHandler] => [name, yum]),
  ['rm', rm],
  ['npm', npm],
  ...Object.entries(INSTALLERS).map(([name, installer]): [string, ProgramHandler] => [name, dependencyInstaller(installer)])
])

function handlerOf (program: string): ProgramHandler | undefined {
  if (/^pip(\d+(\.\d+)?)?$/.test(program)) return pip
  if (/^python(\d+(\.\d+)?)?$/.test(program)) return pythonModule
  return PROGRAMS.get(program)
}

function apt ({ command, program, args }: ProgramCall, facts: RunFacts): void {
  const { positional, options } = splitOptions(args, APT_VALUE_OPTIONS)
  const sub = positional[0]?.text
  if (sub === 'update') facts.aptUpdates.push(command)
  if (sub === 'clean') facts.aptCleaned = true
  if (sub === 'install' || sub === 'upgrade' || sub === 'dist-upgrade' || sub === 'full-upgrade' || sub === 'build-dep') facts.aptListUsers++
  if (sub === 'install') {
    const noRecommends = options.some((o) => o === '--no-install-recommends' || /APT::Install-Recommends=("?)(0|false|no)\1$/i.test(o))
    facts.packageInstalls.push({ manager: 'apt', program, command, packages: positional.slice(1), noCache: false, noRecommends, virtual: null })
  }
  if (sub === 'remove' || sub === 'purge' || sub === 'autoremove') removePackages(positional.slice(1), facts)
}

function apk ({ command, program, args }: ProgramCall, facts: RunFacts): void {
  const { positional, options, values } = splitOptions(args, APK_VALUE_OPTIONS)
  const sub = positional[0]?.text
  if (sub === 'add') {
    const virtual = values.get('--virtual') ?? values.get('-t') ?? null
    facts.packageInstalls.push({ manager: 'apk', program, command, packages: positional.slice(1), noCache: options.includes('--no-cache'), noRecommends: true, virtual })
  }
  if (sub === 'del') removePackages(positional.slice(1), facts)
  if (sub === 'cache' && positional[1]?.text === 'clean') facts.removedPaths.push('/var/cache/apk')
}

/** yum, dnf, microdnf, tdnf. */
function yum ({ command, program, args }: ProgramCall, facts: RunFacts): void {
  const { positional } = splitOptions(args, new Set())
  const sub = positional[0]?.text
  if (sub === 'install' || sub === 'groupinstall' || (sub === 'group' && positional[1]?.text === 'install')) {
    const packages = positional.slice(sub === 'group' ? 2 : 1)
    facts.packageInstalls.push({ manager: 'yum', program, command, packages, noCache: false, noRecommends: true, virtual: null })
  }
  if (sub === 'remove' || sub === 'erase' || sub === 'autoremove') removePackages(positional.slice(1), facts)
  if (sub === 'clean' && positional[1]?.text === 'all') facts.yumCleaned = true
}

function removePackages (packages: Word[], facts: RunFacts): void {
  for (const p of packages) facts.removed.add(packageName(p.text))
}

function rm ({ args }: ProgramCall, facts: RunFacts): void {
  facts.removedPaths.push(...args.map((w) => w.text).filter((t) => !t.startsWith('-')).map(normalizePath))
}

function npm ({ command, args }: ProgramCall, facts: RunFacts): void {
  const { positional, options } = splitOptions(args, NPM_VALUE_OPTIONS)
  const sub = positional[0]?.text
  if (sub === 'cache' && positional[1]?.text === 'clean') facts.npmCacheCleaned = true
  if (sub === 'ci' || sub === 'clean-install' || sub === 'install' || sub === 'i' || sub === 'add') {
    facts.npmInstalls.push({ command, display: `npm ${sub}` })
    // `npm install <package>` adds a package; only a bare install (or ci) installs the manifest's.
    const global = options.some((o) => o === '-g' || o === '--global')
    if (sub === 'ci' || sub === 'clean-install' || (!global && positional.length === 1)) {
      facts.dependencyInstalls.push({ command, display: `npm ${sub}`, manifests: 'package.json and package-lock.json' })
    }
  }
}

/** `python3 -m pip ...` is pip; any other python command is not read. */
function pythonModule (call: ProgramCall, facts: RunFacts): void {
  if (call.args[0]?.text === '-m' && call.args[1]?.text === 'pip') pip({ ...call, args: call.args.slice(2) }, facts)
}

function pip ({ command, args }: ProgramCall, facts: RunFacts): void {
  const { positional, options, values } = splitOptions(args, PIP_VALUE_OPTIONS)
  if (positional[0]?.text === 'cache' && positional[1]?.text === 'purge') facts.pipCachePurged = true
  if (positional[0]?.text !== 'install') return
  // pip takes any unambiguous prefix of a long option: --no-cache, --no-cache-d, ...
  const noCache = options.some((o) => o.length >= '--no-ca'.length && '--no-cache-dir'.startsWith(o.split('=')[0]!))
  const packages = positional.slice(1).map((p) => p.text)
  const editable = values.getAll('-e').concat(values.getAll('--editable'))
  const requirements = values.getAll('-r').concat(values.getAll('--requirement'))
  const packagingOnly = requirements.length === 0 && editable.length === 0 && packages.length > 0 && packages.every((p) => /^(pip|setuptools|wheel)([<>=!~].*)?$/i.test(p))
  facts.pipInstalls.push({ command, noCache, packagingOnly })
  const project = [...packages, ...editable].some((p) => /^\.\/?(\[.*\])?$/.test(p))
  if (requirements.length > 0 || project) {
    const display = requirements.length > 0 ? `pip install -r ${requirements.join(' -r ')}` : 'pip install .'
    const manifests = requirements.length > 0 ? requirements.join(' and ') : 'pyproject.toml (or setup.py/setup.cfg) with the dependencies'
    facts.dependencyInstalls.push({ command, display, manifests })
  }
}

/** Words that are exactly one variable expand to its value's words (`apt-get install $BUILD_DEPS`). */
function expandWord (word: Word, vars: Map<string, string | null>): Word[] {
  const only = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(word.text)
  const value = only ? vars.get(only[1]!) : undefined
  if (value === undefined || value === null) return [word]
  return value
    .split(/\s+/)
    .filter(Boolean)
    .map((text) => ({ text, line: word.line }))
}

class Values {
  private readonly map = new Map<string, string[]>()
  add (option: string, value: string): void {
    this.map.set(option, [...(this.map.get(option) ?? []), value])
  }

  get (option: string): string | undefined {
    return this.map.get(option)?.[0]
  }

  getAll (option: string): string[] {
    return this.map.get(option) ?? []
  }
}

/** Positional words, the options (as written), and option values (`-r file`, `--virtual=name`). */
function splitOptions (args: Word[], valueOptions: Set<string>): { positional: Word[]; options: string[]; values: Values } {
  const positional: Word[] = []
  const options: string[] = []
  const values = new Values()
  for (let i = 0; i < args.length; i++) {
    const text = args[i]!.text
    if (text.startsWith('-') && text.length > 1) {
      options.push(text)
      const eq = text.indexOf('=')
      if (eq > 0 && text.startsWith('--')) {
        values.add(text.slice(0, eq), text.slice(eq + 1))
      } else if (valueOptions.has(text) && args[i + 1]) {
        values.add(text, args[i + 1]!.text)
        if (text === '-o' || text === '--option') options.push(`${text}=${args[i + 1]!.text}`)
        i++
      } else if (/^-[a-zA-Z]/.test(text) && valueOptions.has(text.slice(0, 2)) && text.length > 2) {
        values.add(text.slice(0, 2), text.slice(2)) // -rrequirements.txt, -oAPT::...
        options.push(`${text.slice(0, 2)}=${text.slice(2)}`)
      }
    } else {
      positional.push(args[i]!)
    }
  }
  return { positional, options, values }
}

/** apt `name=version`, `name:arch`, `name/release`; apk `name=ver`, `name~ver`, `name@tag`. */
export function packageName (text: string): string {
  return text.replace(/[=~<>@].*$/, '').replace(/:[a-z0-9]+$/, '').replace(/\/.*$/, '').toLowerCase()
}

function normalizePath (path: string): string {
  let p = path.replace(/^(~|\$HOME|\$\{HOME\})(?=\/|$)/, '/root')
  p = p.replace(/\/\*$/, '').replace(/\*$/, '').replace(/\/+$/, '')
  return p || '/'
}

function cacheMounts (instruction: Run): string[] {
  const targets: string[] = []
  for (const flag of instruction.getFlags()) {
    if (flag.getName() !== 'mount') continue
    const options = new Map(
      (flag.getValue() ?? '').split(',').map((option) => {
        const eq = option.indexOf('=')
        return eq === -1 ? [option, ''] : [option.slice(0, eq), option.slice(eq + 1)]
      })
    )
    const type = options.get('type')
    const target = options.get('target') ?? options.get('dst') ?? options.get('destination')
    if ((type === 'cache' || type === 'tmpfs') && target) targets.push(normalizePath(target))
  }
  return targets
}

/** Whether a removed or mounted path holds (or is) the cache of this kind. */
export function coversCache (kind: CacheKind, path: string): boolean {
  const covers = (dir: string): boolean => dir === path || dir.startsWith(`${path === '/' ? '' : path}/`)
  switch (kind) {
    case 'apt':
      return covers('/var/lib/apt/lists')
    case 'apk':
      return covers('/var/cache/apk') || covers('/etc/apk/cache')
    case 'yum':
      return covers('/var/cache/yum') || covers('/var/cache/dnf')
    case 'pip':
      return /(^|\/)\.cache(\/pip)?$/.test(path)
    case 'npm':
      return /(^|\/)\.npm(\/_cacache)?$/.test(path)
  }
}

const BUILD_TOOLS = new Set([
  'gcc', 'g++', 'gcc-c++', 'cpp', 'make', 'cmake', 'build-essential', 'build-base', 'clang', 'llvm', 'automake', 'autoconf',
  'libtool', 'pkg-config', 'pkgconf', 'pkgconfig', 'musl-dev', 'linux-headers', 'git', 'binutils', 'gfortran', 'ninja-build',
  'meson', 'bison', 'flex', 'development tools'
])

export function isBuildTool (name: string): boolean {
  if (BUILD_TOOLS.has(name)) return true
  if (/^(gcc|g\+\+|cpp|clang|llvm|gfortran)-\d[\w.]*$/.test(name)) return true
  if (/^linux-headers-/.test(name)) return true
  return /.-(dev|devel)$/.test(name)
}
