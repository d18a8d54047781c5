// SPDX license expressions (SPDX 2.3, Annex D): license ids (`+` for "or later") and
// LicenseRef-/DocumentRef- references, joined by AND and OR, an id followed by WITH and an
// exception, parentheses. Which ids exist is not checked: the list changes, and a declared id that
// is well-formed but unknown is still better kept than dropped.

const ID = /^(DocumentRef-[A-Za-z0-9.-]+:)?[A-Za-z0-9.-]+\+?$/
const OPERATORS = new Set(['AND', 'OR', 'WITH'])

/** Whether `text` parses as an SPDX license expression. */
export function isLicenseExpression (text: string): boolean {
  const tokens = text.replace(/[()]/g, ' $& ').trim().split(/\s+/).filter(Boolean)
  let at = 0
  const simple = (): boolean => {
    const token = tokens[at]
    if (token === undefined || OPERATORS.has(token) || !ID.test(token)) return false
    at++
    if (tokens[at] !== 'WITH') return true
    at++
    const exception = tokens[at++]
    return exception !== undefined && !OPERATORS.has(exception) && ID.test(exception)
  }
  const term = (): boolean => {
    if (tokens[at] !== '(') return simple()
    at++
    if (!expression()) return false
    return tokens[at++] === ')'
  }
  const expression = (): boolean => {
    if (!term()) return false
    while (tokens[at] === 'AND' || tokens[at] === 'OR') {
      at++
      if (!term()) return false
    }
    return true
  }
  return tokens.length > 0 && expression() && at === tokens.length
}
