/**
 * The `Field: value` stanzas of dpkg's status file and of Python's core metadata (RFC 822 style):
 * stanzas are separated by blank lines, and a line starting with a space or a tab continues the
 * field before it. Field names are lowercased; a field given twice (Python's Classifier) keeps
 * every value, in order.
 */
export function parseStanzas (text: string): Map<string, string[]>[] {
  const stanzas: Map<string, string[]>[] = []
  let current: Map<string, string[]> | undefined
  let last: { values: string[]; index: number } | undefined
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      current = undefined
      last = undefined
      continue
    }
    if (/^[ \t]/.test(line)) {
      if (last) last.values[last.index] += '\n' + line.trim()
      continue
    }
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    if (!current) stanzas.push((current = new Map<string, string[]>()))
    const name = line.slice(0, colon).trim().toLowerCase()
    const values = current.get(name) ?? []
    current.set(name, values)
    last = { values, index: values.push(line.slice(colon + 1).trim()) - 1 }
  }
  return stanzas
}

/** The first value of a field, if it is there and not empty. */
export function field (stanza: Map<string, string[]>, name: string): string | undefined {
  return stanza.get(name)?.[0] || undefined
}
