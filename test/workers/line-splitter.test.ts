import t from 'tap'
import { createLineSplitter } from '../../workers/line-splitter.js'

/** Feeds `chunks` to a splitter, then ends it; returns the lines in order. */
function split (chunks: string[], maxChars?: number): string[] {
  const lines: string[] = []
  const splitter = createLineSplitter((line) => lines.push(line), maxChars)
  for (const chunk of chunks) splitter.push(chunk)
  splitter.end()
  return lines
}

t.test('lines, across chunk boundaries', async (t) => {
  const cases: [string, string[], string[]][] = [
    ['one chunk, several lines', ['a\nb\nc\n'], ['a', 'b', 'c']],
    ['a line split over chunks', ['hel', 'lo wor', 'ld\n'], ['hello world']],
    ['the newline alone in a chunk', ['abc', '\n', 'def', '\n'], ['abc', 'def']],
    ['a chunk ending on a newline, the next starting a line', ['a\n', 'b\n'], ['a', 'b']],
    ['empty lines are kept', ['a\n\n', '\nb\n'], ['a', '', '', 'b']],
    ['empty chunks change nothing', ['', 'a', '', '\n', ''], ['a']],
    ['one character at a time', [...'ab\ncd\n'], ['ab', 'cd']],
    ['no input, no lines', [], []]
  ]
  for (const [name, chunks, expected] of cases) t.strictSame(split(chunks), expected, name)
})

t.test('CRLF line endings', async (t) => {
  t.strictSame(split(['a\r\nb\r\n']), ['a', 'b'])
  t.strictSame(split(['a\r', '\nb\r\n']), ['a', 'b'], 'CR and LF in different chunks')
  t.strictSame(split(['a\r\n\r\nb']), ['a', '', 'b'])
})

t.test('a carriage return keeps only what follows it, as a terminal shows a redrawn line', async (t) => {
  t.strictSame(split(['10%\r50%\r100%\n']), ['100%'])
  t.strictSame(split(['10%\r', '50%\r', '100%\r\n', 'done\n']), ['100%', 'done'], 'redraws over several chunks')
  t.strictSame(split(['old text\rnew\n']), ['new'], 'not merged with the longer text it overwrote')
  t.strictSame(split(['progress\r\n']), ['progress'], 'a CR right before the newline is a line ending, not a redraw')
})

t.test('end() flushes the partial line, once', async (t) => {
  const lines: string[] = []
  const splitter = createLineSplitter((line) => lines.push(line))
  splitter.push('first\nno newline at the end')
  t.strictSame(lines, ['first'], 'the partial line waits for more')
  splitter.end()
  t.strictSame(lines, ['first', 'no newline at the end'])
  splitter.end()
  t.strictSame(lines, ['first', 'no newline at the end'], 'a second end() emits nothing')
  t.strictSame(split(['a\n']), ['a'], 'nothing pending: end() adds no empty line')
  t.strictSame(split(['50%\r100%']), ['100%'], 'the flushed line is redrawn too')
  t.strictSame(split(['text\r']), ['text'], 'a trailing CR is dropped')
})

t.test('a 1 MB line without a newline comes out in pieces no longer than maxChars', async (t) => {
  const maxChars = 16 * 1024
  const line = Array.from({ length: 1024 * 1024 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('')
  const lines: string[] = []
  const splitter = createLineSplitter((piece) => lines.push(piece), maxChars)
  let pushed = 0
  let worstPending = 0
  for (let offset = 0; offset < line.length; offset += 10_000) {
    const chunk = line.slice(offset, offset + 10_000)
    splitter.push(chunk)
    pushed += chunk.length
    // What has not come out yet is what the splitter holds: it must stay under maxChars.
    const emitted = lines.reduce((sum, piece) => sum + piece.length, 0)
    worstPending = Math.max(worstPending, pushed - emitted)
  }
  splitter.end()
  t.ok(worstPending <= maxChars, `never holds more than maxChars (held at most ${worstPending})`)
  t.ok(lines.length >= Math.ceil(line.length / maxChars), `${lines.length} pieces`)
  t.ok(
    lines.every((piece) => piece.length <= maxChars && piece.length > 0),
    'every piece is non-empty and at most maxChars long'
  )
  t.equal(lines.join(''), line, 'the pieces together are the whole line, in order')
})

t.test('complete lines longer than maxChars are cut too, and long redraws keep only the last', async (t) => {
  const lines: string[] = []
  const splitter = createLineSplitter((line) => lines.push(line), 4)
  splitter.push('abcdefghij\n')
  t.strictSame(lines, ['abcd', 'efgh', 'ij'])

  const progress: string[] = []
  const redraws = createLineSplitter((line) => progress.push(line), 64)
  for (let i = 0; i < 3000; i++) redraws.push(`\rDownloading ${i} / 3000`)
  redraws.push('\n')
  t.strictSame(progress, ['Downloading 2999 / 3000'], 'thousands of redraws longer than maxChars in all make one line')
})

t.test('the default maxChars is 16 KiB', async (t) => {
  const lines = split(['x'.repeat(16 * 1024 * 3 + 5)])
  t.strictSame(
    lines.map((line) => line.length),
    [16 * 1024, 16 * 1024, 16 * 1024, 5]
  )
  t.strictSame(split(['y'.repeat(16 * 1024), '\n']), ['y'.repeat(16 * 1024)], 'exactly maxChars is one line')
})

t.test('after a long line is cut, the lines that follow are whole', async (t) => {
  t.strictSame(split(['0123456789', 'ab\nnext\n'], 4), ['0123', '4567', '89ab', 'next'])
})
