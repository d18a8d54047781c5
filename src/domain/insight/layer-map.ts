import { Onbuild, type Instruction } from 'dockerfile-ast'
import { lineOf, stageChain, stageLabel, type DockerfileStage, type ParsedDockerfile } from './dockerfile-stages.js'
import { recordedRunCommand } from './shell-commands.js'

/**
 * Ties an image's history to the Dockerfile it was built from: which line and stage made each
 * layer, and which layers came with the base image.
 *
 * What the history holds, checked with both builders of Docker 20.10 through the Engine API:
 * - every instruction after FROM in the final stage and in the stages it is built FROM gives one
 *   entry, metadata-only ones included (ARG, ENV, WORKDIR, LABEL, CMD, EXPOSE, USER, ...; a
 *   multi-line RUN is one entry, COPY --from is one entry); a global ARG before the first FROM
 *   gives none, and neither do stages the final one only copies from;
 * - ONBUILD itself gives an entry with the classic builder and none with BuildKit;
 * - a stage built FROM another stage runs that stage's ONBUILD triggers first, one entry each
 *   (both builders);
 * - labels given through the API's `labels` parameter: the classic builder appends one
 *   `LABEL key=value` entry per label after the last instruction; BuildKit sets them in the image
 *   config without any history entry;
 * - a RUN is recorded unexpanded, continued lines joined and comment lines dropped, behind
 *   `/bin/sh -c` or the SHELL in effect (build args in front); an exec-form RUN as its strings
 *   joined by spaces (classic: nothing else; BuildKit: `RUN ` in front).
 * So the newest entries are the Dockerfile's, in order, and everything older came with the base
 * image (and its own ONBUILD triggers, which the Dockerfile does not show). The alignment is
 * checked entry by entry: the keyword, and for RUN the command itself.
 */

export interface MappedLayer {
  instruction: string
  sizeBytes: number
  createdAt: string | null
  /** The 1-based first line of the instruction that made the layer; null for base or unmapped layers. */
  line: number | null
  /** The stage that instruction is in: its name, or `stage-N` (N from 0) when unnamed. */
  stage: string | null
  /** The layer came with the base image. */
  fromBase: boolean
}

export interface LayerMapInput {
  /** From parseDockerfile, with the build's args. */
  dockerfile: ParsedDockerfile
  target: string | null
  /** Image history, oldest first, as inspectImage returns it. */
  layers: { instruction: string; sizeBytes: number; createdAt: string | null }[]
  builder: 'classic' | 'buildkit'
  /** How many labels the build was given through the Engine API. */
  extraLabelCount: number
}

export interface LayerMap {
  layers: MappedLayer[]
  baseBytes: number
  addedBytes: number
}

/** One history entry the Dockerfile accounts for. */
export interface ExpectedEntry {
  /** The Dockerfile keyword the entry records (RUN, COPY, LABEL, ...). */
  keyword: string
  line: number | null
  stage: string
  /** For RUN: the command the entry must end with, whitespace removed (null: not checked). */
  command: string | null
}

const KEYWORDS = new Set(['ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'])

/**
 * Maps each layer to its Dockerfile line and stage. When the history does not line up with the
 * Dockerfile, nothing is guessed: every layer comes back unmapped, not from the base, and all
 * bytes count as added.
 */
export function mapLayers (input: LayerMapInput): LayerMap {
  const total = input.layers.reduce((sum, layer) => sum + layer.sizeBytes, 0)
  const expected = expectedHistory(input)
  const baseCount = expected ? input.layers.length - expected.length : -1
  const aligned = expected !== null && baseCount >= 0 && expected.every((entry, index) => matches(input.layers[baseCount + index]!.instruction, entry))
  if (!aligned) {
    return { layers: input.layers.map((layer) => ({ ...pick(layer), line: null, stage: null, fromBase: false })), baseBytes: 0, addedBytes: total }
  }
  const layers = input.layers.map((layer, index): MappedLayer => {
    const entry = index >= baseCount ? expected[index - baseCount]! : null
    return { ...pick(layer), line: entry?.line ?? null, stage: entry?.stage ?? null, fromBase: entry === null }
  })
  const baseBytes = layers.filter((layer) => layer.fromBase).reduce((sum, layer) => sum + layer.sizeBytes, 0)
  return { layers, baseBytes, addedBytes: total - baseBytes }
}

/**
 * The entry's keyword is the instruction's; a RUN entry also ends with the RUN's command (both
 * builders record it unexpanded, after `/bin/sh -c` or the SHELL, with build args in front), so a
 * Dockerfile that only has the same keywords in the same order does not pass for another one.
 */
function matches (instruction: string, entry: ExpectedEntry): boolean {
  if (historyKeyword(instruction) !== entry.keyword) return false
  return entry.command === null || instruction.replace(/\s+/g, '').endsWith(entry.command)
}

function pick (layer: LayerMapInput['layers'][number]): Pick<MappedLayer, 'instruction' | 'sizeBytes' | 'createdAt'> {
  return { instruction: layer.instruction, sizeBytes: layer.sizeBytes, createdAt: layer.createdAt }
}

/**
 * The history entries the Dockerfile makes, oldest first; null when the final stage chain cannot be
 * known (a target naming no stage, a FROM whose variables have no value).
 */
export function expectedHistory (input: Pick<LayerMapInput, 'dockerfile' | 'target' | 'builder' | 'extraLabelCount'>): ExpectedEntry[] | null {
  const parsed = input.dockerfile
  const entry = (instruction: Instruction, line: number, stage: DockerfileStage): ExpectedEntry => {
    const keyword = instruction.getKeyword()
    const command = keyword === 'RUN' ? recordedRunCommand(instruction, parsed.escapeChar)?.replace(/\s+/g, '') || null : null
    return { keyword, line, stage: stageLabel(stage), command }
  }
  const chain = stageChain(parsed, input.target)
  if (!chain || chain[0]!.image === null) return null
  const entries: ExpectedEntry[] = []
  let parent: DockerfileStage | null = null
  for (const stage of chain) {
    if (parent) {
      // The parent stage's ONBUILD triggers run first in a stage built FROM it.
      for (const instruction of parent.instructions.filter((i) => i instanceof Onbuild)) {
        const trigger = instruction.getTriggerInstruction()
        if (!trigger) return null
        entries.push(entry(trigger, lineOf(instruction), parent))
      }
    }
    for (const instruction of stage.instructions) {
      if (instruction instanceof Onbuild && input.builder === 'buildkit') continue
      entries.push(entry(instruction, lineOf(instruction), stage))
    }
    parent = stage
  }
  if (input.builder === 'classic') {
    const final = stageLabel(chain.at(-1)!)
    for (let i = 0; i < input.extraLabelCount; i++) entries.push({ keyword: 'LABEL', line: null, stage: final, command: null })
  }
  return entries
}

/**
 * The Dockerfile keyword of a history entry as instructionOf renders it: its first word when that
 * is a keyword (both builders write them upper-case), else RUN (the classic builder records an
 * exec-form RUN as the bare command, and a RUN after SHELL behind that shell); null for base-image
 * entries with no instruction. After a SHELL instruction the classic builder writes metadata steps
 * as `<shell> -c #(nop)  ENV ...`, which instructionOf passes through whole: the word after #(nop)
 * is the keyword.
 */
export function historyKeyword (instruction: string): string | null {
  const trimmed = instruction.trim()
  if (!trimmed || trimmed === '(base image layer)' || trimmed.startsWith('Imported from ')) return null
  const nop = /^[^#]*? -c #\(nop\)\s+([A-Z]+)/.exec(trimmed)
  if (nop) return nop[1]!
  const first = /^\S+/.exec(trimmed)![0]
  return KEYWORDS.has(first) ? first : 'RUN'
}
