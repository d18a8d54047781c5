// Every element the portal shows is made here. Text always goes in as text nodes, never parsed as
// HTML: repository URLs, log lines and messages come from whoever submitted a build.

const SVG_NS = 'http://www.w3.org/2000/svg'

/** An HTML element: `attrs` are attributes (`on…` ones are event listeners), `children` nodes or text. */
export function h (tag, attrs = {}, ...children) {
  return fill(document.createElement(tag), attrs, children)
}

/** The same for SVG elements (charts). */
export function svg (tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children)
}

function fill (element, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value)
    else element.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue
    element.append(child instanceof Node ? child : String(child))
  }
  return element
}

/** Replaces what `element` holds with `children`. */
export function show (element, ...children) {
  element.replaceChildren()
  return fill(element, {}, children)
}

/**
 * An API error as a person reads it: the API's stable code and its message, and for a
 * VALIDATION_FAILED each field's problem.
 */
export function errorBox (error, intro = '') {
  const otherToken = () => {
    sessionStorage.clear()
    location.reload()
  }
  return h(
    'div',
    { class: 'error-box', role: 'alert' },
    h('strong', { class: 'error-code' }, error.code ?? 'ERROR'),
    ' ',
    intro ? `${intro} ` : '',
    error.message,
    error.details?.length ? h('ul', {}, error.details.map((detail) => h('li', {}, h('code', {}, detail.path), ': ', detail.message))) : null,
    // 403: the token is known but lacks the scope; another token may hold it.
    error.status === 403 ? h('button', { type: 'button', class: 'link', onclick: otherToken }, 'Sign in with another token') : null
  )
}

export function statusBadge (status) {
  return h('span', { class: `status status-${status}`, 'data-status': status }, status.replace('_', ' '))
}
