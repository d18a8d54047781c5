import { Arg, DockerfileParser, Env, From, PropertyInstruction, type Instruction } from 'dockerfile-ast'

/**
 * A Dockerfile's stage structure: its stages, the `FROM <stage>` chain the final image is built
 * from, and the global ARGs substituted into each FROM. The size advisor and the layer map both
 * need it, and must agree on it: a finding's line and stage label have to match the line and
 * stage the layer map gives the layer, so both read one ParsedDockerfile, made once per build by
 * parseDockerfile, rather than each parsing the Dockerfile its own way.
 */

export interface DockerfileStage {
  index: number
  /** The name after AS, as written; null when the stage has none. */
  name: string | null
  /** The FROM instruction's 1-based line. */
  line: number
  /** The FROM image after ARG substitution; null when a variable in it has no value. */
  image: string | null
  /** 1-based lines of the global ARGs whose defaults (not build args) went into `image`. */
  argLines: number[]
  /** The earlier stage that FROM names, if it names one. */
  parent: DockerfileStage | null
  /** The instructions after FROM, up to the next FROM. */
  instructions: Instruction[]
}

/**
 * A Dockerfile as one build reads it: parsed once, with that build's args, and handed to both the
 * layer map and the advisor (parsing is the costly part, and one reading keeps them agreeing).
 */
export interface ParsedDockerfile {
  stages: DockerfileStage[]
  escapeChar: string
  /**
   * The build args it was read with: they resolve the FROM lines and each stage's ARGs. A Map, as
   * a Dockerfile may name an ARG `constructor` or `__proto__`, which an object answers for itself.
   */
  buildArgs: Map<string, string>
  /** ARGs declared before the first FROM: their value (build arg over default), null without one. */
  globalArgs: Map<string, string | null>
  /** How many instructions come before the first FROM (the global ARGs): the classic builder counts them as steps. */
  preamble: number
}

/** Splits a Dockerfile into stages and resolves each FROM (ARGs, stage names). */
export function parseDockerfile (dockerfile: string, buildArgs: Record<string, string> = {}): ParsedDockerfile {
  const parsed = DockerfileParser.parse(dockerfile)
  const args = new Map(Object.entries(buildArgs))
  const globalArgs = new Map<string, string | null>()
  const globalArgLines = new Map<string, number>()
  const stages: DockerfileStage[] = []
  let preamble = 0
  for (const instruction of parsed.getInstructions()) {
    if (instruction instanceof From) {
      const raw = instruction.getArguments()[0]?.getValue() ?? ''
      const expanded = expandVariables(raw, globalArgs)
      const image = expanded.value && expanded.value.trim() ? expanded.value.trim() : null
      const named = instruction.getBuildStage()
      const parent = image ? [...stages].reverse().find((stage) => stage.name?.toLowerCase() === image.toLowerCase()) ?? null : null
      stages.push({
        index: stages.length,
        name: named,
        line: lineOf(instruction),
        image,
        argLines: expanded.used.filter((name) => !args.has(name)).flatMap((name) => globalArgLines.get(name) ?? []),
        parent,
        instructions: []
      })
      continue
    }
    const stage = stages.at(-1)
    if (stage) {
      stage.instructions.push(instruction)
    } else if (instruction instanceof Arg) {
      preamble += 1
      for (const property of argProperties(instruction)) {
        globalArgs.set(property.name, args.get(property.name) ?? property.value)
        globalArgLines.set(property.name, lineOf(instruction))
      }
    }
  }
  return { stages, escapeChar: parsed.getEscapeCharacter(), buildArgs: args, globalArgs, preamble }
}

/**
 * The stages the final image is built from, oldest first: the target stage (else the last) and
 * the stages its FROM names, transitively. Null when the target names no stage (Docker would refuse
 * the build) or the Dockerfile has no FROM.
 */
export function stageChain (parsed: ParsedDockerfile, target: string | null | undefined): DockerfileStage[] | null {
  const final = target ? parsed.stages.find((stage) => stage.name?.toLowerCase() === target.toLowerCase()) : parsed.stages.at(-1)
  if (!final) return null
  const chain: DockerfileStage[] = []
  for (let stage: DockerfileStage | null = final; stage; stage = stage.parent) chain.unshift(stage)
  return chain
}

/** How findings and layers name a stage: its name, else `stage-N` (N from 0), as BuildKit's progress does. */
export function stageLabel (stage: DockerfileStage): string {
  return stage.name ?? `stage-${stage.index}`
}

/** What an instruction of a stage sees: the variables set before it. */
export interface StageScope {
  /** ARG and ENV values in effect (ENV inherited from a parent stage); null: declared without a value. */
  vars: Map<string, string | null>
  /** The names an ARG of this stage declared (and no ENV set since): a RUN has them in its environment. */
  argNames: Set<string>
}

/**
 * Visits every instruction of every stage, in order, with the variables it sees: ENV is inherited
 * from a parent stage; ARG is not, a stage's ARG takes the build arg, its default, or the global
 * one. The scope is live: copy what must outlast the visit.
 */
export function walkStages (parsed: ParsedDockerfile, visit: (instruction: Instruction, stage: DockerfileStage, scope: StageScope) => void): void {
  const envAtEnd = new Map<DockerfileStage, Map<string, string | null>>()
  for (const stage of parsed.stages) {
    const inherited = stage.parent ? envAtEnd.get(stage.parent) : undefined
    const scope: StageScope = { vars: new Map(inherited), argNames: new Set() }
    const envNames = new Set(inherited?.keys())
    for (const instruction of stage.instructions) {
      visit(instruction, stage, scope)
      if (instruction instanceof Arg) {
        for (const { name, value } of argProperties(instruction)) {
          if (envNames.has(name)) continue
          scope.vars.set(name, parsed.buildArgs.get(name) ?? value ?? parsed.globalArgs.get(name) ?? null)
          scope.argNames.add(name)
        }
      } else if (instruction instanceof Env) {
        for (const { name, value } of argProperties(instruction)) {
          scope.vars.set(name, value)
          envNames.add(name)
          scope.argNames.delete(name)
        }
      }
    }
    envAtEnd.set(stage, new Map([...scope.vars].filter(([name]) => envNames.has(name))))
  }
}

/** 1-based line of an instruction's first line. */
export function lineOf (instruction: Instruction): number {
  return instruction.getRange().start.line + 1
}

/** The NAME=value pairs of an ARG or ENV (value null for an ARG without a default). */
export function argProperties (instruction: PropertyInstruction): { name: string; value: string | null }[] {
  return instruction.getProperties().map((property) => ({ name: property.getName(), value: property.getValue() }))
}

/**
 * Substitutes $NAME, ${NAME}, ${NAME:-word}, ${NAME-word}, ${NAME:+word} and ${NAME+word}.
 * `value` is null when a variable it needs is undeclared or has no value (the build would fail or
 * depend on what we cannot see). `used` lists the variables read.
 */
export function expandVariables (text: string, vars: Map<string, string | null>): { value: string | null; used: string[] } {
  const used: string[] = []
  let unknown = false
  const value = text.replace(/\\\$|\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (match, braced?: string, operator?: string, word?: string, bare?: string) => {
    if (match === '\\$') return '$'
    const name = (braced ?? bare)!
    used.push(name)
    const current = vars.get(name)
    const set = current !== undefined && current !== null && (current !== '' || operator?.startsWith(':') !== true)
    if (operator?.endsWith('-')) return set ? current : (word ?? '')
    if (operator?.endsWith('+')) return set ? (word ?? '') : ''
    if (current === undefined || current === null) {
      unknown = true
      return ''
    }
    return current
  })
  return { value: unknown ? null : value, used }
}
