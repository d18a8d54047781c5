/** What the helpers need of a test: somewhere to put clean-up. tap's `t` is one; bench/ makes its own. */
export interface Teardown {
  teardown(fn: () => unknown): void
}

/** A Teardown outside tap: `close()` runs the clean-ups, last registered first. */
export function createScope (): Teardown & { close(): Promise<void> } {
  const cleanups: (() => unknown)[] = []
  return {
    teardown: (fn) => {
      cleanups.push(fn)
    },
    async close () {
      for (const fn of cleanups.reverse()) await fn()
    }
  }
}
