import { createHash } from 'node:crypto'
import { Add, Arg, Copy, type Instruction } from 'dockerfile-ast'
import { argProperties, expandVariables, lineOf, stageLabel, walkStages, type ParsedDockerfile, type StageScope } from './dockerfile-stages.js'

/**
 * What decides, for each instruction of a Dockerfile, whether its step can come from the layer
 * cache, as far as the Dockerfile and the build args tell: its text after substitution, the args
 * a RUN sees, the context paths a COPY reads, the stage it builds on. Two builds' facts side by
 * side say why a step ran (cache-explanation.ts); the rest (base image ids, file contents) the
 * worker adds from the engine and the context.
 */

export interface InstructionFacts {
  line: number
  /** Its stage's label: the AS name, else stage-N (as BuildKit's progress names it). */
  stage: string
  /** Its place in the stage: 0 is the FROM, then every instruction in order. */
  index: number
  keyword: string
  /** As written, continued lines joined; secret-named args stay `$NAME`. */
  text: string
  /** After ARG/ENV substitution, secret-named args left as written. */
  expanded: string
  /**
   * RUN: the ARG values in its environment (part of its cache key); ARG: the values it declares;
   * any other line: the values of the ARGs its text names (what its substitution read). Secret-named
   * values hashed.
   */
  args: Record<string, string | null>
  /** COPY/ADD from the build context: the sources, relative to the context. */
  sources: string[]
  /** COPY --from: the stage (its label) it copies from; null otherwise or for an image. */
  copyFrom: string | null
}

export interface StageFacts {
  label: string
  /** The FROM image as resolved; null when the stage is built on another stage (`parent`) or the image is unknown. */
  image: string | null
  parent: string | null
}

export interface DockerfileFacts {
  /** Every instruction, FROM included, in Dockerfile order. */
  instructions: InstructionFacts[]
  stages: StageFacts[]
  /** The instructions before the first FROM (global ARGs), which the classic builder numbers as steps. */
  preamble: number
}

// With BuildKit these instructions become steps ("[stage i/n] RUN …"); the others only change the
// image config and have no step, and `i` does not count them.
const BUILDKIT_STEP_KEYWORDS = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'WORKDIR'])

// Build args named like these hold credentials: their values are never shown or kept in clear.
const SECRET_NAME = /pass|secret|token|key|credential|auth|private|cert/i

export function isSecretArg (name: string): boolean {
  return SECRET_NAME.test(name)
}

/** A secret-named arg's value as facts keep it: comparable, not readable. */
function keptValue (name: string, value: string | null): string | null {
  if (value === null || !isSecretArg(name)) return value
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 16)}`
}

/** The facts of every instruction and stage of the parsed Dockerfile (read with the build's args). */
export function dockerfileFacts (parsed: ParsedDockerfile): DockerfileFacts {
  const instructions: InstructionFacts[] = []
  const stages: StageFacts[] = parsed.stages.map((stage) => ({
    label: stageLabel(stage),
    image: stage.parent ? null : stage.image,
    parent: stage.parent ? stageLabel(stage.parent) : null
  }))
  const labelOf = (name: string) => {
    const stage = parsed.stages.find((candidate) => candidate.name?.toLowerCase() === name.toLowerCase() || String(candidate.index) === name)
    return stage ? stageLabel(stage) : null
  }
  for (const stage of parsed.stages) {
    const from = stage.image ?? ''
    instructions.push({ line: stage.line, stage: stageLabel(stage), index: 0, keyword: 'FROM', text: `FROM ${from}`, expanded: `FROM ${from}`, args: {}, sources: [], copyFrom: null })
  }
  const indexIn = new Map<string, number>()
  walkStages(parsed, (instruction, stage, scope) => {
    const label = stageLabel(stage)
    const index = (indexIn.get(label) ?? 0) + 1
    indexIn.set(label, index)
    instructions.push(instructionFacts(instruction, label, index, scope, parsed, labelOf))
  })
  instructions.sort((a, b) => a.line - b.line)
  return { instructions, stages, preamble: parsed.preamble }
}

function instructionFacts (
  instruction: Instruction,
  stage: string,
  index: number,
  scope: StageScope,
  parsed: ParsedDockerfile,
  labelOf: (name: string) => string | null
): InstructionFacts {
  const keyword = instruction.getKeyword().toUpperCase()
  const shown = new Map([...scope.vars].filter(([name]) => !isSecretArg(name)))
  const text = instruction.toString().replace(/\s+/g, ' ').trim()
  const expand = (value: string) => expandVariables(value, shown).value ?? value
  // Every name the line uses is in `used`, secret-named ones too, though those stay unexpanded.
  const substituted = expandVariables(text, shown)
  // No prototype: an arg may be named `constructor` or `__proto__`.
  const args = Object.create(null) as Record<string, string | null>
  if (instruction instanceof Arg) {
    for (const { name, value } of argProperties(instruction)) args[name] = keptValue(name, parsed.buildArgs.get(name) ?? value ?? parsed.globalArgs.get(name) ?? null)
  } else {
    const named = keyword === 'RUN' ? scope.argNames : substituted.used.filter((name) => scope.argNames.has(name))
    for (const name of named) args[name] = keptValue(name, scope.vars.get(name) ?? null)
  }
  let sources: string[] = []
  let copyFrom: string | null = null
  if (instruction instanceof Copy || instruction instanceof Add) {
    const fromFlag = instruction instanceof Copy ? instruction.getFromFlag()?.getValue() : undefined
    if (fromFlag) copyFrom = labelOf(expand(fromFlag))
    else sources = copySources(instruction).map(expand)
  }
  return { line: lineOf(instruction), stage, index, keyword, text, expanded: substituted.value ?? text, args, sources, copyFrom }
}

/** The sources of a COPY/ADD (all but the last argument, exec or shell form), URLs left out. */
function copySources (instruction: Copy | Add): string[] {
  const raw = (instruction.getRawArgumentsContent() ?? '').trim()
  let words: string[]
  if (raw.startsWith('[')) {
    try {
      words = JSON.parse(raw) as string[]
    } catch {
      return []
    }
  } else {
    words = instruction.getArguments().map((argument) => argument.getValue())
  }
  return words.slice(0, -1).filter((word) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(word) && !word.startsWith('<<'))
}

/**
 * Which Dockerfile line a builder's step is: BuildKit names a step by its stage and its place
 * among the stage's steps ("[build 3/4]", FROM being 1; no stage when the Dockerfile has one); the
 * classic builder numbers every instruction of the file ("Step 7/13"), the global ARGs first.
 */
export function stepLocator (facts: DockerfileFacts, builder: 'classic' | 'buildkit'): (where: { stage: string | null; position: number }) => number | null {
  if (builder === 'classic') {
    return ({ position }) => facts.instructions[position - 1 - facts.preamble]?.line ?? null
  }
  return ({ stage, position }) => {
    const label = stage ?? facts.stages.at(-1)?.label
    const steps = facts.instructions.filter((fact) => fact.stage === label && BUILDKIT_STEP_KEYWORDS.has(fact.keyword))
    return steps[position - 1]?.line ?? null
  }
}
