import type { Instruction } from 'dockerfile-ast'

/**
 * Reads the shell commands a RUN executes: continued lines joined as Docker joins them, exec
 * form, heredoc scripts, `sh -c "..."`, and the wrappers (sudo, env, VAR=value) in front of a
 * program. The word splitter is written by hand rather than taken from a shell parser because
 * every word must keep the Dockerfile line it came from, so that a finding can say "gcc on line
 * 5" of a RUN that spans ten lines; it only needs to find commands and their words, not to run
 * them. It also gives a RUN's command as the image history records it, for the layer map.
 */

export interface Word {
  text: string
  /** 1-based Dockerfile line. */
  line: number
}

export interface Command {
  /** The program first; wrappers (sudo, env, VAR=value) removed. */
  words: Word[]
  /** VAR=value given in front of the command. */
  env: Map<string, string>
}

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh'])

/** The commands a RUN executes, from shell form, exec form or a heredoc script. */
export function runCommands (instruction: Instruction, escapeChar: string): Command[] {
  const raw = instruction.getRawArgumentsContent()
  const range = instruction.getArgumentsRange()
  if (raw === null || range === null) return []
  const joined = joinContinuations(raw, range.start.line + 1, escapeChar)
  const exec = execForm(joined)
  const commands = exec ? [exec] : shellCommands(joined)
  return commands.flatMap(normalizeCommand)
}

/**
 * A RUN's command as the image history records it: continued lines joined (comment lines gone),
 * an exec form's strings joined by spaces. Null for a heredoc, whose recording we do not rely on.
 */
export function recordedRunCommand (instruction: Instruction, escapeChar: string): string | null {
  const raw = instruction.getRawArgumentsContent()
  const range = instruction.getArgumentsRange()
  if (raw === null || range === null || raw.includes('<<')) return null
  const joined = joinContinuations(raw, range.start.line + 1, escapeChar)
  const exec = execForm(joined)
  return exec ? exec.words.map((word) => word.text).join(' ') : joined.chars.trim()
}

interface Text {
  chars: string
  /** The 1-based Dockerfile line of each character. */
  lines: number[]
}

/**
 * Joins continued lines as Docker does before the shell sees them: the escape character and its
 * newline go, and so do comment lines (and blank lines) inside the continued instruction.
 */
function joinContinuations (raw: string, firstLine: number, escapeChar: string): Text {
  let chars = ''
  const lines: number[] = []
  let line = firstLine
  let i = 0
  while (i < raw.length) {
    const c = raw[i]!
    const continuation = c === escapeChar ? /^[ \t]*\r?\n/.exec(raw.slice(i + 1)) : null
    if (continuation) {
      i += 1 + continuation[0].length
      line++
      for (;;) {
        const rest = /^[ \t]*(#[^\n]*)?\r?\n/.exec(raw.slice(i))
        if (!rest || i >= raw.length) break
        i += rest[0].length
        line++
      }
      continue
    }
    chars += c
    lines.push(line)
    if (c === '\n') line++
    i++
  }
  return { chars, lines }
}

/** `RUN ["prog", "arg"]`: the JSON strings, each with the line it starts on. */
function execForm (text: Text): Command | null {
  const trimmed = text.chars.trim()
  if (!trimmed.startsWith('[')) return null
  try {
    const parsed: unknown = JSON.parse(trimmed)
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) return null
  } catch {
    return null
  }
  const words: Word[] = []
  for (let i = 0; i < text.chars.length; i++) {
    if (text.chars[i] !== '"') continue
    let j = i + 1
    while (j < text.chars.length && text.chars[j] !== '"') j += text.chars[j] === '\\' ? 2 : 1
    words.push({ text: JSON.parse(text.chars.slice(i, j + 1)) as string, line: text.lines[i]! })
    i = j
  }
  return { words, env: new Map() }
}

/**
 * Splits shell text into simple commands (at &&, ||, ;, |, &, parentheses and newlines), with
 * quotes removed, redirections dropped and comments skipped. Heredoc bodies are read as a script
 * when the shell runs them (`RUN <<EOF`, `bash <<EOF`) and skipped when they are data.
 */
function shellCommands (text: Text): Command[] {
  return new ShellSplitter(text).split()
}

interface PendingHeredoc {
  delimiter: string
  stripTabs: boolean
  /** The words of the command that reads it (the array it keeps growing). */
  command: Word[]
}

/**
 * One pass over shell text, a character at a time: `step` looks at the character and hands it
 * to the method for what it starts (a quote, an operator, a heredoc, ...), which moves `i` past it.
 */
class ShellSplitter {
  private readonly s: string
  private readonly commands: Command[] = []
  private words: Word[] = []
  private word: string | null = null
  private wordLine = 0
  /** The next word is a redirection's target, not an argument. */
  private skipNextWord = false
  /** Heredocs started on the current line: their bodies follow its newline. */
  private pending: PendingHeredoc[] = []
  private i = 0

  constructor (private readonly text: Text) {
    this.s = text.chars
  }

  split (): Command[] {
    while (this.i < this.s.length) this.step()
    this.endCommand()
    return this.commands
  }

  private step (): void {
    const { s, i } = this
    const c = s[i]!
    if (c === '\n') this.newline()
    else if (c === ' ' || c === '\t' || c === '\r') this.blank()
    else if (c === '#' && this.word === null) this.comment()
    else if (c === '\\') this.escaped()
    else if (c === "'") this.take(singleQuoted(s, i))
    else if (c === '"') this.take(doubleQuoted(s, i))
    else if (c === '$' && (s[i + 1] === '(' || s[i + 1] === '{')) this.take(substitution(s, i))
    else if (c === '`') this.take(backticked(s, i))
    else if (c === '&' || c === '|' || c === ';') this.operator(s[i + 1] === c ? 2 : 1)
    else if (c === '(' || c === ')') this.operator(1)
    else if (c === '<' && s[i + 1] === '<' && s[i + 2] !== '<') this.heredoc()
    else if (c === '<' || c === '>') this.redirection()
    else this.take([c, i + 1])
  }

  /** Adds a piece of the current word (a character, a quoted string, ...) and moves past it. */
  private take ([chunk, next]: [string, number]): void {
    if (this.word === null) {
      this.word = ''
      this.wordLine = this.text.lines[Math.min(this.i, this.text.lines.length - 1)] ?? 0
    }
    this.word += chunk
    this.i = next
  }

  private endWord (): void {
    if (this.word === null) return
    if (this.skipNextWord) this.skipNextWord = false
    else this.words.push({ text: this.word, line: this.wordLine })
    this.word = null
  }

  private endCommand (): void {
    this.endWord()
    if (this.words.length > 0) this.commands.push({ words: this.words, env: new Map() })
    this.words = []
    this.skipNextWord = false
  }

  private newline (): void {
    this.endCommand()
    this.i++
    if (this.pending.length > 0) this.readHeredocs()
  }

  private blank (): void {
    this.endWord()
    this.i++
  }

  /** Up to the end of the line; the newline still ends the command. */
  private comment (): void {
    while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++
  }

  /** A backslash keeps the next character; before a newline it joins the lines. */
  private escaped (): void {
    if (this.s[this.i + 1] === '\n') this.i += 2
    else this.take([this.s[this.i + 1] ?? '', this.i + 2])
  }

  private operator (length: number): void {
    this.endCommand()
    this.i += length
  }

  /** `<<EOF`, `<<-EOF`, `<<'EOF'`: the body comes after the end of this line. */
  private heredoc (): void {
    this.endWord()
    const s = this.s
    let j = this.i + 2
    const stripTabs = s[j] === '-'
    if (stripTabs) j++
    let delimiter = ''
    while (j < s.length && !/[\s;&|<>()]/.test(s[j]!)) {
      if (s[j] !== '"' && s[j] !== "'") delimiter += s[j]
      j++
    }
    this.pending.push({ delimiter, stripTabs, command: this.words })
    this.i = j
  }

  /** A redirection: drop an fd number in front, the operator, and its target word. */
  private redirection (): void {
    if (this.word !== null && /^\d+$/.test(this.word)) this.word = null
    this.endWord()
    const s = this.s
    let j = this.i + 1
    while (j < s.length && '<>&|'.includes(s[j]!)) j++
    if (s[j - 1] === '&' && /\d|-/.test(s[j] ?? '')) {
      while (j < s.length && /[\d-]/.test(s[j]!)) j++ // 2>&1, >&-: the target is in the operator
    } else {
      this.skipNextWord = true
    }
    this.i = j
  }

  /** After a newline: the pending heredoc bodies, each up to its delimiter line. */
  private readHeredocs (): void {
    for (const heredoc of this.pending) {
      const [bodyStart, bodyEnd, next] = heredocBody(this.s, this.i, heredoc)
      this.i = next
      const program = heredoc.command[0] ? basename(heredoc.command[0].text) : null
      const script = program === null || (SHELLS.has(program) && !heredoc.command.some((w) => /^-[a-z]*c[a-z]*$/.test(w.text)))
      if (script && bodyEnd > bodyStart) {
        this.commands.push(...shellCommands({ chars: this.s.slice(bodyStart, bodyEnd), lines: this.text.lines.slice(bodyStart, bodyEnd) }))
      }
    }
    this.pending = []
  }
}

/** A heredoc body from `start`: where it starts and ends, and where the text goes on after its delimiter line. */
function heredocBody (s: string, start: number, heredoc: PendingHeredoc): [number, number, number] {
  let i = start
  while (i < s.length) {
    const end = s.indexOf('\n', i)
    const content = s.slice(i, end === -1 ? s.length : end).replace(/\r$/, '')
    const next = end === -1 ? s.length : end + 1
    if ((heredoc.stripTabs ? content.replace(/^\t+/, '') : content) === heredoc.delimiter) return [start, i, next]
    i = next
  }
  return [start, s.length, i]
}

/** `'...'` from its opening quote: the text inside as is, and where it ends. */
function singleQuoted (s: string, i: number): [string, number] {
  const end = s.indexOf("'", i + 1)
  const close = end === -1 ? s.length : end
  return [s.slice(i + 1, close), close + 1]
}

/** `"..."` from its opening quote: the text inside with \" \\ \$ \` unescaped and \<newline> gone. */
function doubleQuoted (s: string, i: number): [string, number] {
  let j = i + 1
  let chunk = ''
  while (j < s.length && s[j] !== '"') {
    if (s[j] === '\\' && '"\\$`\n'.includes(s[j + 1] ?? '')) {
      if (s[j + 1] !== '\n') chunk += s[j + 1]
      j += 2
    } else {
      chunk += s[j]
      j++
    }
  }
  return [chunk, j + 1]
}

/** `$(...)` or `${...}`, nested ones included: kept whole as part of the word. */
function substitution (s: string, i: number): [string, number] {
  const open = s[i + 1]!
  const close = open === '(' ? ')' : '}'
  let depth = 0
  let j = i + 1
  for (; j < s.length; j++) {
    if (s[j] === open) depth++
    else if (s[j] === close && --depth === 0) break
  }
  return [s.slice(i, j + 1), j + 1]
}

/** `` `...` ``: kept whole as part of the word. */
function backticked (s: string, i: number): [string, number] {
  const end = s.indexOf('`', i + 1)
  const close = end === -1 ? s.length : end
  return [s.slice(i, close + 1), close + 1]
}

const WRAPPERS = new Set(['sudo', 'env', 'exec', 'time', 'nohup', 'command', 'nice', 'stdbuf', '!', 'if', 'then', 'else', 'elif', 'do', 'while', 'until', '{', '}', 'fi', 'done'])

/** Removes VAR=value prefixes and wrappers (sudo, env, ...); expands `sh -c "script"`. */
function normalizeCommand (command: Command): Command[] {
  let words = command.words
  const env = new Map(command.env)
  for (;;) {
    const first = words[0]
    if (!first) return []
    const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(first.text)
    if (assignment) {
      env.set(assignment[1]!, assignment[2]!)
      words = words.slice(1)
      continue
    }
    const program = basename(first.text)
    if (!WRAPPERS.has(program)) break
    words = words.slice(1)
    // Wrapper options, with the value of those that take one (sudo -u user, nice -n 10, env -u NAME).
    while (words[0]?.text.startsWith('-')) {
      const option = words[0].text
      words = words.slice(1)
      if (/^-[ugCnDTU]$/.test(option) && words[0]) words = words.slice(1)
    }
  }
  const program = basename(words[0]!.text)
  if (SHELLS.has(program)) {
    const flag = words.findIndex((w, index) => index > 0 && /^-[a-z]*c[a-z]*$/.test(w.text))
    const script = flag === -1 ? undefined : words[flag + 1]
    if (script) {
      const inner = shellCommands({ chars: script.text, lines: [...script.text].map(() => script.line) })
      return inner.flatMap((c) => normalizeCommand({ words: c.words, env: new Map([...env, ...c.env]) }))
    }
  }
  return [{ words, env }]
}

export function basename (path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}
