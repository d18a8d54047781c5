/**
 * Turns chunks of text into lines with bounded memory: a line longer than `maxChars` is emitted in
 * pieces, so a step that prints 100 MB without a newline never grows the worker. A carriage return
 * keeps only what follows it, as a terminal shows a redrawn progress line.
 */
export function createLineSplitter (onLine: (line: string) => void, maxChars = 16 * 1024) {
  let partial = ''

  const emit = (line: string) => {
    const shown = lastRedraw(line)
    if (shown.length === 0) onLine(shown)
    for (let start = 0; start < shown.length; start += maxChars) onLine(shown.slice(start, start + maxChars))
  }

  return {
    push (chunk: string) {
      partial += chunk
      let newline: number
      while ((newline = partial.indexOf('\n')) !== -1) {
        emit(partial.slice(0, newline))
        partial = partial.slice(newline + 1)
      }
      // Keep only the latest redraw; a trailing "\r" may still be the first half of "\r\n".
      const cr = partial.lastIndexOf('\r', partial.length - 2)
      if (cr !== -1) partial = partial.slice(cr + 1)
      while (partial.length > maxChars) {
        onLine(partial.slice(0, maxChars))
        partial = partial.slice(maxChars)
      }
    },
    end () {
      if (partial) emit(partial)
      partial = ''
    }
  }
}

function lastRedraw (line: string): string {
  const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line
  return trimmed.slice(trimmed.lastIndexOf('\r') + 1)
}
