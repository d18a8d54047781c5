import { parseArgs } from 'node:util'
import { UsageError } from './exit-codes.js'

/** One command-line flag: parsing and --help are both made from it. */
export interface Flag {
  name: string
  short?: string
  /** The value's placeholder in --help; a flag without one is a switch. */
  value?: string
  /** May be given more than once (each value is kept). */
  multiple?: boolean
  help: string
}

export interface CommandSpec {
  name: string
  /** The usage line after `slipway `. */
  usage: string
  summary: string
  /** Paragraphs after the usage line. */
  description?: string
  /** Names of the positional arguments, all required; without it, the command checks its own. */
  args?: string[]
  flags: Flag[]
}

/** Flags every API command takes. */
export const COMMON_FLAGS: Flag[] = [
  { name: 'url', value: 'URL', help: 'The Slipway server (default: $SLIPWAY_URL)' },
  { name: 'token', value: 'TOKEN', help: 'The API token (default: $SLIPWAY_TOKEN; prefer the variable: flags show in `ps`)' },
  { name: 'json', help: "Print the API's JSON instead of text" },
  { name: 'help', short: 'h', help: 'Show this help' }
]

export interface Parsed {
  args: string[]
  string(name: string): string | undefined
  strings(name: string): string[]
  has(name: string): boolean
}

export function parseCommand (spec: CommandSpec, argv: string[]): Parsed {
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(
        spec.flags.map((flag) => [flag.name, { type: flag.value ? 'string' : 'boolean', ...(flag.short ? { short: flag.short } : {}), ...(flag.multiple ? { multiple: true } : {}) }] as const)
      )
    })
  } catch (error) {
    // parseArgs's first sentence says what is wrong ("Unknown option '--foo'"); the rest is advice on '--' that misleads here.
    const [problem] = (error as Error).message.split(/\.( |$)/)
    throw new UsageError(`${problem} for slipway ${spec.name}. See \`slipway ${spec.name} --help\`.`)
  }
  const values = parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>
  const expected = spec.args
  if (expected && !values.help && parsed.positionals.length !== expected.length) {
    const wanted = expected.length === 0 ? 'no arguments' : expected.join(' ')
    throw new UsageError(`${spec.name} takes ${wanted}${parsed.positionals.length > 0 ? `, not '${parsed.positionals.join(' ')}'` : ''}. See \`slipway ${spec.name} --help\`.`)
  }
  return {
    args: parsed.positionals,
    string: (name) => {
      const value = values[name]
      return typeof value === 'string' ? value : undefined
    },
    strings: (name) => {
      const value = values[name]
      return Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : []
    },
    has: (name) => values[name] !== undefined && values[name] !== false
  }
}

export function commandHelp (spec: CommandSpec): string {
  const rows = spec.flags.map((flag) => [`${flag.short ? `-${flag.short}, ` : '    '}--${flag.name}${flag.value ? ` ${flag.value}` : ''}`, flag.help] as const)
  const width = Math.min(30, Math.max(...rows.map(([left]) => left.length)))
  const options = rows.map(([left, help]) => `  ${left.padEnd(width)}  ${help}`).join('\n')
  return `Usage: slipway ${spec.usage}\n\n${spec.summary}\n${spec.description ? `\n${spec.description.trim()}\n` : ''}\nOptions:\n${options}\n`
}

/** "K=V" pairs of a repeatable flag as an object, or undefined when none were given. */
export function keyValues (flag: string, pairs: string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined
  const result: Record<string, string> = {}
  for (const pair of pairs) {
    const equals = pair.indexOf('=')
    if (equals <= 0) throw new UsageError(`--${flag} takes KEY=VALUE, not '${pair}'`)
    result[pair.slice(0, equals)] = pair.slice(equals + 1)
  }
  return result
}

/** A whole number flag, or undefined when absent. */
export function integer (flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) throw new UsageError(`--${flag} takes a whole number, not '${value}'`)
  return Number(value)
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 }
/** A size as people write it: bytes, or with a decimal unit ("500MB", "1.5G", "200kB"). */
export function byteSize (flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(value.trim())
  if (!match) throw new UsageError(`--${flag} takes a size such as 500MB, 1.5GB or a number of bytes, not '${value}'`)
  return Math.round(Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!)
}

const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600 }
/** A duration in whole seconds: "900", "90s", "15m", "2h". */
export function seconds (flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const match = /^(\d+)([smh]?)$/.exec(value.trim())
  if (!match) throw new UsageError(`--${flag} takes a duration such as 900, 90s, 15m or 2h, not '${value}'`)
  return Number(match[1]) * DURATION_UNITS[match[2]!]!
}
