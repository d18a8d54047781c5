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
  const s = text.chars
  const commands: Command[] = []
  let words: Word[] = []
  let word: string | null = null
  let wordLine = 0
  let skipNextWord = false
  let pending: { delimiter: string; stripTabs: boolean; command: Word[] }[] = []

  const lineAt = (i: number): number => text.lines[Math.min(i, text.lines.length - 1)] ?? 0
  const add = (chunk: string, i: number): void => {
    if (word === null) {
      word = ''
      wordLine = lineAt(i)
    }
    word += chunk
  }
  const endWord = (): void => {
    if (word === null) return
    if (skipNextWord) skipNextWord = false
    else words.push({ text: word, line: wordLine })
    word = null
  }
  const endCommand = (): void => {
    endWord()
    if (words.length > 0) commands.push({ words, env: new Map() })
    words = []
    skipNextWord = false
  }
  /** After a newline: the pending heredoc bodies, each up to its delimiter line. */
  const readHeredocs = (start: number): number => {
    let i = start
    for (const heredoc of pending) {
      const bodyStart = i
      let bodyEnd = s.length
      while (i < s.length) {
        const end = s.indexOf('\n', i)
        const lineEnd = end === -1 ? s.length : end
        const content = s.slice(i, lineEnd).replace(/\r$/, '')
        const next = end === -1 ? s.length : end + 1
        if ((heredoc.stripTabs ? content.replace(/^\t+/, '') : content) === heredoc.delimiter) {
          bodyEnd = i
          i = next
          break
        }
        i = next
      }
      const program = heredoc.command[0] ? basename(heredoc.command[0].text) : null
      const script = program === null || (SHELLS.has(program) && !heredoc.command.some((w) => /^-[a-z]*c[a-z]*$/.test(w.text)))
      if (script && bodyEnd > bodyStart) {
        commands.push(...shellCommands({ chars: s.slice(bodyStart, bodyEnd), lines: text.lines.slice(bodyStart, bodyEnd) }))
      }
    }
    pending = []
    return i
  }

  let i = 0
  while (i < s.length) {
    const c = s[i]!
    if (c === '\n') {
      endCommand()
      i = pending.length > 0 ? readHeredocs(i + 1) : i + 1
    } else if (c === ' ' || c === '\t' || c === '\r') {
      endWord()
      i++
    } else if (c === '#' && word === null) {
      while (i < s.length && s[i] !== '\n') i++
    } else if (c === '\\') {
      if (s[i + 1] === '\n') i += 2
      else {
        add(s[i + 1] ?? '', i)
        i += 2
      }
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1)
      const close = end === -1 ? s.length : end
      add(s.slice(i + 1, close), i)
      i = close + 1
    } else if (c === '"') {
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
      add(chunk, i)
      i = j + 1
    } else if (c === '$' && (s[i + 1] === '(' || s[i + 1] === '{')) {
      const open = s[i + 1]!
      const close = open === '(' ? ')' : '}'
      let depth = 0
      let j = i + 1
      for (; j < s.length; j++) {
        if (s[j] === open) depth++
        else if (s[j] === close && --depth === 0) break
      }
      add(s.slice(i, j + 1), i)
      i = j + 1
    } else if (c === '`') {
      const end = s.indexOf('`', i + 1)
      const close = end === -1 ? s.length : end
      add(s.slice(i, close + 1), i)
      i = close + 1
    } else if (c === '&' || c === '|' || c === ';') {
      endCommand()
      i += s[i + 1] === c ? 2 : 1
    } else if (c === '(' || c === ')') {
      endCommand()
      i++
    } else if (c === '<' && s[i + 1] === '<' && s[i + 2] !== '<') {
      endWord()
      let j = i + 2
      const stripTabs = s[j] === '-'
      if (stripTabs) j++
      let delimiter = ''
      while (j < s.length && !/[\s;&|<>()]/.test(s[j]!)) {
        if (s[j] !== '"' && s[j] !== "'") delimiter += s[j]
        j++
      }
      pending.push({ delimiter, stripTabs, command: words })
      i = j
    } else if (c === '<' || c === '>') {
      // A redirection: drop an fd number in front, the operator, and its target word.
      if (word !== null && /^\d+$/.test(word)) word = null
      endWord()
      let j = i + 1
      while (j < s.length && '<>&|'.includes(s[j]!)) j++
      if (s[j - 1] === '&' && /\d|-/.test(s[j] ?? '')) {
        while (j < s.length && /[\d-]/.test(s[j]!)) j++
      } else {
        skipNextWord = true
      }
      i = j
    } else {
      add(c, i)
      i++
    }
  }
  endCommand()
  return commands
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
