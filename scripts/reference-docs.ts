// `npm run docs`: writes the generated parts of docs/reference/ from the code they describe, so
// the reference cannot drift from it (test/docs/reference.test.ts fails when it would):
//   configuration.md  every setting, from the TypeBox schema in src/domain/config.ts
//   errors.md         every API error, from the catalogue in src/domain/errors.ts, and every
//                     build failure code, from src/domain/builds/failure-codes.ts
//   cli.md            `slipway --help`, each command's --help and the exit codes, from src/cli/
// Only the text between a file's GENERATED markers is written; the prose around it is by hand.
import { readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { TSchema } from '@sinclair/typebox'
import { commandHelp, type CommandSpec } from '../src/cli/args.js'
import { cancelSpec } from '../src/cli/commands/cancel.js'
import { logsSpec } from '../src/cli/commands/logs.js'
import { retrySpec } from '../src/cli/commands/retry.js'
import { secretSpec } from '../src/cli/commands/secret.js'
import { statusSpec } from '../src/cli/commands/status.js'
import { submitSpec } from '../src/cli/commands/submit.js'
import { tokenSpec } from '../src/cli/commands/token.js'
import { triggerSpec } from '../src/cli/commands/trigger.js'
import { webhookSpec } from '../src/cli/commands/webhook.js'
import { EXIT_CODE_MEANINGS } from '../src/cli/exit-codes.js'
import { toolHelp } from '../src/cli/main.js'
import { FAILURE_CODES } from '../src/domain/builds/failure-codes.js'
import { ConfigSchema, envName } from '../src/domain/config.js'
import * as errorCatalogue from '../src/domain/errors.js'
import { packageRoot, packageVersion } from '../src/package-info.js'

/** A file of docs/reference/ and the text of each of its generated regions, by name. */
export interface ReferenceFile {
  file: string
  regions: () => Record<string, string>
}

export const REFERENCE_FILES: ReferenceFile[] = [
  { file: path.join(packageRoot, 'docs', 'reference', 'configuration.md'), regions: () => ({ settings: settingsTable() }) },
  { file: path.join(packageRoot, 'docs', 'reference', 'errors.md'), regions: () => ({ 'api-errors': apiErrorsTable(), 'failure-codes': failureCodesTable() }) },
  { file: path.join(packageRoot, 'docs', 'reference', 'cli.md'), regions: () => ({ usage: usageBlock(), 'exit-codes': exitCodesTable(), commands: commandSections() }) }
]

const begin = (name: string) => `<!-- BEGIN GENERATED ${name}: written by \`npm run docs\`, do not edit -->`
const end = (name: string) => `<!-- END GENERATED ${name} -->`

/** The file's text with each region between its markers replaced; every region's markers must be there. */
export function fillRegions (text: string, regions: Record<string, string>): string {
  let filled = text
  for (const [name, content] of Object.entries(regions)) {
    const start = filled.indexOf(begin(name))
    const stop = filled.indexOf(end(name))
    if (start === -1 || stop < start) throw new Error(`the markers of the generated region "${name}" are missing: ${begin(name)} … ${end(name)}`)
    filled = `${filled.slice(0, start)}${begin(name)}\n${content.trimEnd()}\n${filled.slice(stop)}`
  }
  return filled
}

/**
 * Plain text as a table cell, on one line: what Markdown would read as emphasis or HTML ("**",
 * "<namespace>") is escaped outside `code spans`, and pipes everywhere, as tables need.
 */
function cell (text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .split(/(`[^`]*`)/)
    .map((part, index) => (index % 2 === 1 ? part : part.replace(/[\\*]/g, '\\$&').replace(/</g, '&lt;')))
    .join('')
    .replace(/\|/g, '\\|')
}

// --- configuration.md --------------------------------------------------------------------------

/** A byte count in the largest binary unit it is a whole number of. */
function binary (value: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (value >= size && value % size === 0) return `${value / size} ${unit}`
  }
  return `${value}`
}

/** A byte count as bytes and, when it is a whole number of them, KiB, MiB or GiB. */
function bytes (value: number): string {
  const unit = binary(value)
  return unit === String(value) ? `\`${value}\`` : `\`${value}\` (${unit})`
}

/** A default as a reader should see it: defaults made from this host's folders are written generally. */
function shownDefault (variable: string, value: unknown): string {
  if (value === '') return '(empty)'
  if (typeof value === 'number' && variable.endsWith('_BYTES')) return bytes(value)
  if (typeof value === 'string') {
    const home = os.homedir()
    const temp = os.tmpdir()
    if (home.length > 1 && value.startsWith(home + path.sep)) return `\`~/${path.relative(home, value)}\``
    if (temp.length > 1 && value.startsWith(temp + path.sep)) return `\`<OS temp dir>/${path.relative(temp, value)}\``
  }
  return `\`${String(value)}\``
}

/** What a setting accepts, from its schema. */
function accepted (variable: string, schema: TSchema): string {
  const isBytes = variable.endsWith('_BYTES')
  const limit = (value: number) => (isBytes ? binary(value) : String(value))
  const range = (kind: string) => {
    const { minimum, maximum } = schema as { minimum?: number; maximum?: number }
    if (maximum !== undefined) return `${kind}, ${minimum === undefined ? '…' : limit(minimum)} to ${limit(maximum)}`
    return minimum !== undefined ? `${kind}, at least ${limit(minimum)}` : kind
  }
  const choices = (schema.anyOf as TSchema[] | undefined)?.map((option) => `\`${String(option.const)}\``)
  if (choices) return choices.join(', ')
  if (schema.type === 'boolean') return '`true`, `false`'
  if (schema.type === 'integer') return range(isBytes ? 'bytes' : 'whole number')
  if (schema.type === 'number') return range('number')
  return typeof schema.expected === 'string' ? schema.expected : 'text'
}

function settingsTable (): string {
  const rows = Object.entries(ConfigSchema.properties).map(([key, property]) => {
    const schema = property as TSchema
    const variable = envName(key)
    return `| \`${variable}\` | ${shownDefault(variable, schema.default)} | ${cell(accepted(variable, schema))} | ${cell(schema.description ?? '')} |`
  })
  return ['| variable | default | accepts | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n')
}

// --- errors.md ---------------------------------------------------------------------------------

interface CatalogueError {
  code: string
  statusCode: number
  message: string
}

/** Every error of the catalogue, made without arguments so that its message keeps its `%s` slots. */
export function catalogueErrors (): CatalogueError[] {
  const found: CatalogueError[] = []
  for (const value of Object.values(errorCatalogue) as unknown[]) {
    if (typeof value !== 'function') continue
    const error = new (value as new () => unknown)()
    if (error instanceof Error && typeof (error as Partial<CatalogueError>).code === 'string') found.push(error as Error & CatalogueError)
  }
  return found.sort((a, b) => a.code.localeCompare(b.code))
}

function apiErrorsTable (): string {
  const rows = catalogueErrors().map(({ code, statusCode, message }) => {
    const text = message.trim() === '%s' ? '*(the message says what is wrong, case by case)*' : cell(message.replace(/%s/g, '…'))
    return `| \`${code}\` | ${statusCode} | ${text} |`
  })
  return ['| code | status | message (… is filled in per case) |', '| --- | --- | --- |', ...rows].join('\n')
}

function failureCodesTable (): string {
  const rows = Object.entries(FAILURE_CODES).map(([code, meaning]) => `| \`${code}\` | ${cell(meaning)} |`)
  return ['| code | why the build failed |', '| --- | --- |', ...rows].join('\n')
}

// --- cli.md ------------------------------------------------------------------------------------

const SPECS: CommandSpec[] = [submitSpec, statusSpec, logsSpec, cancelSpec, retrySpec, tokenSpec, secretSpec, triggerSpec, webhookSpec]

/** The commands `slipway --help` lists, in its order. */
export function helpCommandNames (): string[] {
  const section = /\nCommands:\n([\s\S]*?)\n\n/.exec(toolHelp())?.[1] ?? ''
  return [...section.matchAll(/^ {2}(\S+)/gm)].map((match) => match[1]!)
}

function fence (text: string): string {
  return `\`\`\`text\n${text.trimEnd()}\n\`\`\``
}

function usageBlock (): string {
  return fence(toolHelp().replace(`slipway ${packageVersion}:`, 'slipway VERSION:'))
}

function exitCodesTable (): string {
  const rows = EXIT_CODE_MEANINGS.map(([code, meaning]) => `| ${code} | ${cell(meaning)} |`)
  return ['| code | meaning |', '| --- | --- |', ...rows].join('\n')
}

function commandSections (): string {
  return helpCommandNames()
    .map((name) => {
      const spec = SPECS.find((candidate) => candidate.name === name)
      if (!spec) throw new Error(`\`slipway --help\` lists ${name}, which scripts/reference-docs.ts does not know: add its spec to SPECS`)
      return `### slipway ${name}\n\n${fence(commandHelp(spec))}`
    })
    .join('\n\n')
}

/** Each reference file as `npm run docs` would write it, beside what it holds now. */
export async function renderReference (): Promise<{ file: string; committed: string; generated: string }[]> {
  return Promise.all(
    REFERENCE_FILES.map(async ({ file, regions }) => {
      const committed = await readFile(file, 'utf8')
      return { file, committed, generated: fillRegions(committed, regions()) }
    })
  )
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  for (const { file, committed, generated } of await renderReference()) {
    if (generated !== committed) await writeFile(file, generated)
    process.stdout.write(`${generated === committed ? 'unchanged' : 'wrote'} ${path.relative(process.cwd(), file)}\n`)
  }
}
