/**
 * Turns chunks of text into lines with bounded memory: a line longer than `maxChars` is emitted in
 * pieces, so a step that prints 100 MB without a newline never grows the worker. A carriage return
 * keeps only what follows it, as a terminal would show a redrawn progress line.
 */
export function createLineSplitter(onLine: (line: string) => void, maxChars = 16 * 1024) {
  let partial = ''
  return {
    push(chunk: string) {
      const parts = (partial + chunk).split('\n')
      partial = parts.pop() ?? ''
      for (const line of parts) onLine(lastRedraw(line))
      while (partial.length > maxChars) {
        onLine(partial.slice(0, maxChars))
        partial = partial.slice(maxChars)
      }
    },
    end() {
      if (partial) onLine(lastRedraw(partial))
      partial = ''
    }
  }
}

function lastRedraw(line: string): string {
  const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line
  const cr = trimmed.lastIndexOf('\r')
  return cr === -1 ? trimmed : trimmed.slice(cr + 1)
}
