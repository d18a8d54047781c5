/**
 * A map that holds at most `maxBytes` of values (as their owner counts them), dropping the least
 * recently used first. A value larger than the whole budget is not kept.
 */
export function createByteLru<V> (maxBytes: number) {
  // A Map iterates in insertion order: a value used is moved to the end, so the first is the oldest.
  const entries = new Map<string, { value: V; bytes: number }>()
  let total = 0

  function remove (key: string): void {
    const entry = entries.get(key)
    if (!entry) return
    entries.delete(key)
    total -= entry.bytes
  }

  return {
    get (key: string): V | undefined {
      const entry = entries.get(key)
      if (!entry) return undefined
      entries.delete(key)
      entries.set(key, entry)
      return entry.value
    },

    set (key: string, value: V, bytes: number): void {
      remove(key)
      if (bytes > maxBytes) return
      entries.set(key, { value, bytes })
      total += bytes
      for (const [oldest] of entries) {
        if (total <= maxBytes) break
        remove(oldest)
      }
    },

    delete: remove,

    clear (): void {
      entries.clear()
      total = 0
    },

    /** The bytes held now. */
    get bytes (): number {
      return total
    }
  }
}
