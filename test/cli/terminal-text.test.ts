import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import t from 'tap'
import { jsonLine, terminalText, terminalTextStream } from '../../src/cli/terminal-text.js'

const ESC = '\u001b'
const BEL = '\u0007'
const ST = `${ESC}\\`

t.test('control sequences a log can carry are taken out whole; the text around them stays', async (t) => {
  const cases: [string, string, string][] = [
    ['OSC 52: a clipboard write, BEL-terminated', `copy${ESC}]52;c;cm0gLXJmIH4=${BEL}done`, 'copydone'],
    ['OSC 52, ST-terminated', `a${ESC}]52;c;cm0gLXJmIH4=${ST}b`, 'ab'],
    ['OSC 0: a title', `a${ESC}]0;you have mail${BEL}b`, 'ab'],
    ['OSC 8: a hyperlink hiding its target', `see ${ESC}]8;;https://evil.example/${ST}the docs${ESC}]8;;${ST}.`, 'see the docs.'],
    ['CSI: cursor up, erase line', `ok${ESC}[1A${ESC}[2K${ESC}[Gforged line`, 'okforged line'],
    ['CSI with private parameters', `a${ESC}[?1049h${ESC}[?25lb`, 'ab'],
    ['SGR colours', `${ESC}[1;31mred${ESC}[0m`, 'red'],
    ['C1 CSI (U+009B)', 'a\u009b2Jb\u009b1;1Hc', 'abc'],
    ['C1 OSC, C1 ST', 'a\u009d0;title\u009cb', 'ab'],
    ['DCS, APC, PM, SOS', `a${ESC}Pq#0;2;0;0;0${ST}b${ESC}_app${ST}c${ESC}^pm${ST}d${ESC}Xsos${ST}e`, 'abcde'],
    ['two-byte escapes: reset, save cursor, charset', `a${ESC}cb${ESC}7c${ESC}(0d`, 'abcd'],
    ['carriage return and backspace, which rewrite a line', 'good\rEVIL and abc\b\b\bxyz', 'goodEVIL and abcxyz'],
    ['lone C0 and C1 controls, DEL', `a${BEL}\u0000b\u008dc\u0085d\u007fe`, 'abcde'],
    ['a lone ESC', `a${ESC}`, 'a'],
    ['an unterminated OSC ends at the line, not later', `a${ESC}]0;title never ends\nnext line`, 'a\nnext line'],
    ['an OSC cut short by another sequence', `a${ESC}]0;title${ESC}[2Jb`, 'ab'],
    ['tabs, newlines and every printable character stay', 'col1\tcol2\nnaïve café — 日本語 ✓ 🚀 ~!@#$%^&*()[]{}', 'col1\tcol2\nnaïve café — 日本語 ✓ 🚀 ~!@#$%^&*()[]{}']
  ]
  for (const [what, input, shown] of cases) t.equal(terminalText(input), shown, what)
})

t.test('JSON for a terminal: the same value, every control character escaped', async (t) => {
  const value = { text: `a${ESC}]52;c;x${BEL}\u009b2J\u007f` }
  const line = jsonLine(value)
  t.notMatch(line, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)
  t.match(line, /\n$/)
  t.same(JSON.parse(line), value)
})

t.test('a stream is cleaned a line at a time, whatever its chunks split', async (t) => {
  const input = Buffer.from(`one ${ESC}]0;title${BEL}line\ntwo \u009b2Jlines ✓\nlast${ESC}[1A`)
  // One byte at a time: every sequence and the UTF-8 of U+009B and ✓ are split across chunks.
  const chunks = [...input].map((byte) => Buffer.from([byte]))
  t.equal(await text(Readable.from(chunks).pipe(terminalTextStream())), 'one line\ntwo lines ✓\nlast')
})
