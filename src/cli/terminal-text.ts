import { Transform } from 'node:stream'

// Text from the server (a build's log, error messages, names) is written by whoever controls a
// repository. A terminal acts on control functions in it (ECMA-48): OSC strings write the
// clipboard (52), set the title, hide a link behind text (8); CSI sequences move the cursor and
// erase lines already shown; 8-bit (C1) forms of each work as well in many terminals. They are all
// taken out, whole, and so is every other control character but tab and newline.

// OSC, DCS, SOS, PM and APC: an introducer, then a payload up to BEL or ST. An unterminated one
// ends where another control starts, or at the end of the line, so it never eats the next line.
const CONTROL_STRING = /(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x18\x1a\x1b\n\x80-\x9f]*(?:\x07|\x1b\\|\x9c)?/g
// CSI: an introducer, parameter bytes, intermediate bytes, a final byte.
const CSI = /(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]/g
// Every other escape sequence: ESC, intermediate bytes, a final byte (ESC 7, ESC ( B, ESC c, …).
const ESCAPE = /\x1b[\x20-\x2f]*[\x30-\x7e]/g
// What is left: C0 controls but tab and newline (CR and BS rewrite a line too), DEL, C1 controls.
const CONTROL_CHARACTER = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g

/** Server-provided text as a terminal may show it: plain text, tabs and newlines. */
export function terminalText (text: string): string {
  return text.replace(CONTROL_STRING, '').replace(CSI, '').replace(ESCAPE, '').replace(CONTROL_CHARACTER, '')
}

// JSON.stringify escapes C0 controls but writes DEL and C1 controls as they are.
const UNESCAPED_BY_JSON = /[\x7f-\x9f]/g

/** A value as one line of JSON with every control character escaped: the same JSON, safe on a terminal. */
export function jsonLine (value: unknown): string {
  return `${JSON.stringify(value).replace(UNESCAPED_BY_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`
}

/** A stream of UTF-8 text, passed on a line at a time through terminalText. */
export function terminalTextStream (): Transform {
  const decoder = new TextDecoder()
  let partial = ''
  return new Transform({
    transform (chunk: Buffer, _encoding, done) {
      const text = partial + decoder.decode(chunk, { stream: true })
      const end = text.lastIndexOf('\n') + 1
      partial = text.slice(end)
      if (end > 0) this.push(terminalText(text.slice(0, end)))
      done()
    },
    flush (done) {
      const rest = terminalText(partial + decoder.decode())
      if (rest) this.push(rest)
      done()
    }
  })
}
