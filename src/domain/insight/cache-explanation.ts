import type { BuildCache, CacheMiss, Step } from '../schemas/build.js'
import { isSecretArg, type DockerfileFacts, type InstructionFacts } from './step-facts.js'

/**
 * Why each step that ran did not come from the layer cache, found by comparing this build with
 * the previous one of the same repository, branch, Dockerfile and target. A builder's cache is a
 * chain: a step is cached only if the steps it builds on are, so only the first rebuilt step of a
 * chain has a cause of its own (its line, an arg, the base image, its files, or none: the engine
 * lacked the cache); every step after it is `earlier-step-rebuilt`, pointing back at it.
 */

/** One build's side of the comparison. */
export interface CacheSide {
  buildId: string
  engine: { id: string; name: string } | null
  dockerfile: DockerfileFacts
  /** Each stage's base image id as the engine had it (stage label → id; null: unknown). */
  bases: Record<string, string | null>
  /** The same images' registry manifest digests (null: the engine knows none); absent from facts kept by an older worker. */
  baseDigests?: Record<string, string | null>
  /**
   * Every file of the context as `path\0content id` (the id with its mode), sorted: two builds'
   * lists are compared in one walk, and kept as they are (a Map of 10,000 files costs more to build
   * than the whole comparison).
   */
  files: string[]
}

export interface ExplainInput {
  steps: Step[]
  current: CacheSide
  /** The previous build to compare with; null when there is none. */
  previous: CacheSide | null
  noCache: boolean
  /** The registry caches the build imported (or tried to): what could have covered a step the engine lacked. */
  registryImports: { reference: string; imported: boolean }[]
}

// A files-changed detail lists this many files; fileCount says how many there were.
const LISTED_FILES = 20

/** The steps, each rebuilt one with its `cacheMiss`, and the build's cache summary. */
export function explainCache (input: ExplainInput): { steps: Step[]; cache: BuildCache } {
  const { current, previous } = input
  const facts = new Map(current.dockerfile.instructions.map((fact) => [fact.line, fact]))
  const order = new Map(current.dockerfile.instructions.map((fact, position) => [fact.line, position]))
  const steps: Step[] = input.steps.map(({ cacheMiss: _stale, ...step }) => ({ ...step }))
  const stepAt = new Map<number, number>()
  steps.forEach((step, index) => {
    if (step.line !== undefined && !stepAt.has(step.line)) stepAt.set(step.line, index)
  })
  const counted = steps
    .map((step, index) => ({ step, index, fact: step.line === undefined ? undefined : facts.get(step.line) }))
    .filter((entry): entry is { step: Step; index: number; fact: InstructionFacts } => entry.fact !== undefined && entry.fact.keyword !== 'FROM')
    .filter(({ step }) => step.cached || step.status === 'succeeded' || step.status === 'failed')
  const missed = counted.filter(({ step }) => !step.cached).sort((a, b) => order.get(a.fact.line)! - order.get(b.fact.line)!)

  const deps = dependencies(current.dockerfile, stepAt)
  const changes = fileChanges(current, previous)
  const rootOf = new Map<number, number>()
  for (const { step, index, fact } of missed) {
    const rebuilt = deps(fact).find((dep) => rootOf.has(dep))
    let miss: CacheMiss
    if (input.noCache) miss = { reason: 'no-cache', detail: { summary: 'the request asked for noCache' } }
    else if (!previous) miss = { reason: 'first-build', detail: { summary: 'no earlier build of this repository, branch, Dockerfile and target to compare with' } }
    else if (rebuilt !== undefined) miss = followsMiss(steps, rebuilt)
    else miss = ownCause(fact, current, previous, changes) ?? notOnEngine(current, previous, input.registryImports)
    step.cacheMiss = miss
    // The first miss stands for every later one of a no-cache or first build too.
    const root = rebuilt !== undefined ? rootOf.get(rebuilt)! : miss.reason === 'no-cache' || miss.reason === 'first-build' ? (missed[0]?.index ?? index) : index
    rootOf.set(index, root)
  }

  const first = missed[0]
  const cached = counted.filter(({ step }) => step.cached).length
  return {
    steps,
    cache: {
      comparedWith: previous?.buildId ?? null,
      steps: counted.length,
      cached,
      hitRate: counted.length === 0 ? null : cached / counted.length,
      firstMiss: first
        ? {
            step: first.index,
            instruction: first.step.instruction,
            line: first.fact.line,
            reason: first.step.cacheMiss!.reason,
            summary: first.step.cacheMiss!.detail.summary,
            followers: [...rootOf].filter(([index, root]) => root === first.index && index !== first.index).length
          }
        : null
    }
  }
}

/**
 * The steps a step builds on, as indexes into `steps`: the previous step of its stage (or, for
 * the first, the last step of the stage it is built FROM), and for COPY --from the last step of
 * that stage.
 */
function dependencies (dockerfile: DockerfileFacts, stepAt: Map<number, number>): (fact: InstructionFacts) => number[] {
  // Each stage's instructions that have a step, in order, and where each one is among them: a
  // Dockerfile of many steps is walked once, not once per step.
  const stepped = new Map<string, InstructionFacts[]>()
  const placeOf = new Map<number, number>()
  for (const fact of dockerfile.instructions) {
    if (fact.keyword === 'FROM' || !stepAt.has(fact.line)) continue
    const list = stepped.get(fact.stage) ?? []
    placeOf.set(fact.line, list.push(fact) - 1)
    stepped.set(fact.stage, list)
  }
  const parentOf = new Map(dockerfile.stages.map((stage) => [stage.label, stage.parent]))
  const lastOfStage = (label: string): number | undefined => {
    const last = stepped.get(label)?.at(-1)
    if (last) return stepAt.get(last.line)
    // A stage is built FROM an earlier one only: this ends.
    const parent = parentOf.get(label)
    return parent ? lastOfStage(parent) : undefined
  }
  return (fact) => {
    const place = placeOf.get(fact.line)
    const before = place ? stepped.get(fact.stage)![place - 1] : undefined
    const parent = parentOf.get(fact.stage)
    const chain = before ? stepAt.get(before.line) : parent ? lastOfStage(parent) : undefined
    const copied = fact.copyFrom ? lastOfStage(fact.copyFrom) : undefined
    return [chain, copied].filter((index): index is number => index !== undefined)
  }
}

function followsMiss (steps: Step[], rebuilt: number): CacheMiss {
  const step = steps[rebuilt]!
  const where = step.line === undefined ? step.instruction : `line ${step.line} (${step.instruction})`
  return { reason: 'earlier-step-rebuilt', detail: { summary: `builds on ${where}, which rebuilt`, step: rebuilt } }
}

/** Why the first rebuilt step of a chain rebuilt, when the previous build had the same chain before it. */
function ownCause (fact: InstructionFacts, current: CacheSide, previous: CacheSide, changes: () => string[]): CacheMiss | null {
  return baseImageChange(fact, current, previous) ?? lineChange(fact, current, previous) ?? argChange(fact, previous) ?? filesChange(fact, changes)
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12)

/**
 * A stage on another base image than the previous build's: every step of it misses, so the
 * first rebuilt step of the stage (the only one without a rebuilt step before it) names the cause.
 */
function baseImageChange (fact: InstructionFacts, current: CacheSide, previous: CacheSide): CacheMiss | null {
  const stage = current.dockerfile.stages.find((candidate) => candidate.label === fact.stage)
  const before = ownValue(previous.bases, fact.stage)
  const after = ownValue(current.bases, fact.stage)
  if (!stage || stage.parent || !before || !after || before === after) return null
  const beforeDigest = ownValue(previous.baseDigests, fact.stage) ?? null
  const afterDigest = ownValue(current.baseDigests, fact.stage) ?? null
  // The registry's digests where the engine knows both (what `docker pull` printed), else the ids.
  const [was, now] = beforeDigest && afterDigest ? [`digest ${short(beforeDigest)}`, short(afterDigest)] : [short(before), short(after)]
  return {
    reason: 'base-image-changed',
    detail: { summary: `${stage.image ?? 'the base image'} is another image: ${was} → ${now}`, before, after, beforeDigest, afterDigest }
  }
}

/**
 * The first line of the stage, up to this step, that differs from the previous build's line at
 * the same place: this step's own, or a config-only line above it (ENV, ARG) that has no step.
 */
function lineChange (fact: InstructionFacts, current: CacheSide, previous: CacheSide): CacheMiss | null {
  const now = current.dockerfile.instructions.filter((other) => other.stage === fact.stage && other.index > 0)
  const then = previous.dockerfile.instructions.filter((other) => other.stage === fact.stage && other.index > 0)
  for (const [place, line] of now.entries()) {
    if (line.index > fact.index) break
    const old = then[place]
    if (old && old.keyword === line.keyword && old.expanded === line.expanded) continue
    if (old && old.text === line.text) return argChangeIn(line, old) ?? instructionChanged(line, old, { now: now[place + 1], then: then[place + 1] })
    return instructionChanged(line, old, { now: now[place + 1], then: then[place + 1] })
  }
  return null
}

/** A line that differs from the one at its place before: edited, new (the old one follows it), or the old one removed. */
function instructionChanged (line: InstructionFacts, old: InstructionFacts | undefined, next: { now?: InstructionFacts; then?: InstructionFacts }): CacheMiss {
  if (!old || next.now?.expanded === old.expanded) {
    return { reason: 'instruction-changed', detail: { summary: `line ${line.line} is new: ${line.expanded}`, before: null, after: line.expanded } }
  }
  if (next.then?.expanded === line.expanded) {
    return { reason: 'instruction-changed', detail: { summary: `${old.expanded} was removed above line ${line.line}`, before: old.expanded, after: null } }
  }
  return {
    reason: 'instruction-changed',
    detail: { summary: `line ${line.line} changed: ${old.expanded} → ${line.expanded}`, before: old.expanded, after: line.expanded }
  }
}

/**
 * The same line reads differently after substitution: the arg whose value did it. Null when no
 * arg it names has another value (facts kept by an older worker have no args for such a line).
 */
function argChangeIn (line: InstructionFacts, old: InstructionFacts): CacheMiss | null {
  const named = [...line.text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]!)
  const changed = named.find((name) => {
    const [was, now] = [ownValue(old.args, name), ownValue(line.args, name)]
    return was !== undefined && now !== undefined && was !== now
  })
  if (changed === undefined) return null
  return argValueChange(changed, ownValue(old.args, changed), ownValue(line.args, changed), `line ${line.line} now reads ${line.expanded}`)
}

/**
 * A step whose args have other values than before, though its line reads the same: a RUN's (every
 * ARG in scope is in its environment), or a secret-named one's, which a line never shows substituted.
 */
function argChange (fact: InstructionFacts, previous: CacheSide): CacheMiss | null {
  const old = previous.dockerfile.instructions.find((other) => other.stage === fact.stage && other.index === fact.index)
  if (!old) return null
  const names = [...new Set([...Object.keys(fact.args), ...Object.keys(old.args)])]
  const arg = names.find((name) => ownValue(fact.args, name) !== ownValue(old.args, name))
  return arg === undefined ? null : argValueChange(arg, ownValue(old.args, arg), ownValue(fact.args, arg))
}

/**
 * A value the facts hold under a name from the Dockerfile (an arg, a stage's label). Own keys
 * only: facts read back from Redis are plain objects, and a stage or arg may be named `constructor`.
 */
function ownValue<Value> (record: Record<string, Value> | undefined, name: string): Value | undefined {
  return record && Object.hasOwn(record, name) ? record[name] : undefined
}

/** An arg's two values, as people may see them: those of secret-named args never. */
function argValueChange (arg: string, was: string | null | undefined, now: string | null | undefined, reads?: string): CacheMiss {
  const shown = (value: string | null | undefined) => (value === undefined || value === null ? null : isSecretArg(arg) ? '(redacted)' : value)
  const before = shown(was)
  const after = shown(now)
  const summary = `ARG ${arg}: ${before ?? '(unset)'} → ${after ?? '(unset)'}${reads ? `; ${reads}` : ''}`
  return { reason: 'build-arg-changed', detail: { summary, arg, before, after } }
}

/** A COPY/ADD whose sources hold files that changed (were added, edited or removed). */
function filesChange (fact: InstructionFacts, changes: () => string[]): CacheMiss | null {
  if (fact.sources.length === 0) return null
  const matchers = fact.sources.map(sourceMatcher)
  const files = changes().filter((file) => matchers.some((matches) => matches(file)))
  if (files.length === 0) return null
  const summary = files.length === 1 ? `${files[0]} changed` : `${files[0]} and ${files.length - 1} more changed`
  return { reason: 'files-changed', detail: { summary, files: files.slice(0, LISTED_FILES), fileCount: files.length } }
}

/** Nothing changed: the engine lacked the cache, and no registry cache had the step either. */
function notOnEngine (current: CacheSide, previous: CacheSide, imports: ExplainInput['registryImports']): CacheMiss {
  const elsewhere = previous.engine && current.engine && previous.engine.id !== current.engine.id
  const engine = elsewhere
    ? `nothing it depends on changed, but the previous build ran on engine ${previous.engine!.name} and this engine had no cache for it`
    : "nothing it depends on changed, but this engine's build cache no longer held it (pruned)"
  const imported = imports.filter((entry) => entry.imported).map((entry) => entry.reference)
  const failed = imports.filter((entry) => !entry.imported).map((entry) => entry.reference)
  const registry =
    imported.length > 0
      ? `; the registry cache of ${imported.join(', ')} did not hold it`
      : failed.length > 0
        ? `; the registry cache of ${failed.join(', ')} could not be imported`
        : '; no registry cache was imported'
  return { reason: 'cache-not-on-engine', detail: { summary: engine + registry, engine: previous.engine?.name ?? null } }
}

/** The context paths added, removed or changed between the two builds, sorted; worked out once, when first asked. */
function fileChanges (current: CacheSide, previous: CacheSide | null): () => string[] {
  let changed: string[] | undefined
  return () => (changed ??= previous ? changedPaths(previous.files, current.files) : [])
}

/** One walk down two sorted `path\0id` lists: the paths in one only, or in both with other ids. */
function changedPaths (before: string[], after: string[]): string[] {
  const changed: string[] = []
  const pathOf = (entry: string) => entry.slice(0, entry.indexOf('\0'))
  let i = 0
  let j = 0
  while (i < before.length || j < after.length) {
    const old = i < before.length ? pathOf(before[i]!) : null
    const now = j < after.length ? pathOf(after[j]!) : null
    if (old !== null && (now === null || old < now)) {
      changed.push(old)
      i++
    } else if (now !== null && (old === null || now < old)) {
      changed.push(now)
      j++
    } else {
      if (before[i] !== after[j]) changed.push(now!)
      i++
      j++
    }
  }
  return changed
}

/** Whether a context path is under a COPY source (a path, a folder, or a pattern with * ? [ ]). */
export function sourceMatcher (source: string): (file: string) => boolean {
  const clean = source.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '')
  if (clean === '' || clean === '.') return () => true
  const pattern = clean.split('/')
  const matches = /[*?[]/.test(clean) ? (path: string) => globMatches(pattern, path.split('/')) : (path: string) => path === clean
  return (file) => {
    for (let prefix = file; prefix; prefix = prefix.slice(0, Math.max(prefix.lastIndexOf('/'), 0))) {
      if (matches(prefix)) return true
    }
    return false
  }
}

/**
 * A COPY source pattern as Go's filepath.Match reads it, one path segment against one: * and ?
 * never cross '/'. No regular expression: the pattern comes from a repository's Dockerfile, and
 * `*a*a*a…b` as one backtracks for ever. Each segment is matched by one walk that, on a mismatch,
 * only lets the last * take one more character: at most segment × pattern steps.
 */
function globMatches (pattern: string[], path: string[]): boolean {
  return pattern.length === path.length && pattern.every((segment, i) => segmentMatches(segment, path[i]!))
}

function segmentMatches (pattern: string, name: string): boolean {
  let p = 0
  let n = 0
  let star = -1
  let starName = 0
  while (n < name.length) {
    const taken = p < pattern.length && pattern[p] !== '*' ? charMatches(pattern, p, name[n]!) : 0
    if (p < pattern.length && pattern[p] === '*') {
      star = p++
      starName = n
    } else if (taken > 0) {
      p += taken
      n++
    } else if (star >= 0) {
      p = star + 1
      n = ++starName
    } else {
      return false
    }
  }
  while (pattern[p] === '*') p++
  return p === pattern.length
}

/** How much of the pattern at `at` matches the one character (?, a [class], an escaped or plain character); 0 when it does not. */
function charMatches (pattern: string, at: number, char: string): number {
  const here = pattern[at]!
  if (here === '?') return 1
  if (here === '\\' && at + 1 < pattern.length) return pattern[at + 1] === char ? 2 : 0
  if (here !== '[') return here === char ? 1 : 0
  const end = pattern.indexOf(']', at + 2)
  if (end === -1) return char === '[' ? 1 : 0
  let body = pattern.slice(at + 1, end)
  const negated = body.startsWith('^') || body.startsWith('!')
  if (negated) body = body.slice(1)
  let found = false
  for (let i = 0; i < body.length; i++) {
    if (body[i + 1] === '-' && i + 2 < body.length) {
      if (char >= body[i]! && char <= body[i + 2]!) found = true
      i += 2
    } else if (body[i] === char) {
      found = true
    }
  }
  return found !== negated ? end - at + 1 : 0
}
