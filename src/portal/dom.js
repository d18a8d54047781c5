// Every element the portal shows is made here. Text always goes in as text nodes, never parsed as
// HTML: repository URLs, log lines and messages come from whoever submitted a build.

import { statusText } from '../domain/build-status.js'
import { ApiError } from './api.js'

/** @import { BuildStatus } from '../domain/build-status.js' */

/**
 * Attributes: strings, numbers and true are set, false, null and undefined left out; `on…` ones
 * are event listeners.
 * @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Attrs
 */

/** @typedef {Node | string | number | null | undefined | false} Child */
/**
 * What an element may hold: nodes, text, numbers, and lists of them (nested four deep: a JSDoc
 * type cannot name itself); null, undefined and false are left out.
 * @typedef {Child | Array<Child | Array<Child | Array<Child | Array<Child>>>>} Children
 */

const SVG_NS = 'http://www.w3.org/2000/svg'

/**
 * An HTML element: `attrs` are attributes (`on…` ones are event listeners), `children` nodes or text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Children} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h (tag, attrs = {}, ...children) {
  return fill(document.createElement(tag), attrs, children)
}

/**
 * The same for SVG elements (charts).
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Children} children
 * @returns {SVGElementTagNameMap[K]}
 */
export function svg (tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children)
}

/**
 * @template {Element} E
 * @param {E} element
 * @param {Attrs} attrs
 * @param {Children[]} children
 * @returns {E}
 */
function fill (element, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith('on')) {
      // Never an inline handler: the Content-Security-Policy would refuse to run it anyway.
      if (typeof value !== 'function') throw new TypeError(`${name} takes a function`)
      element.addEventListener(name.slice(2), value)
    } else element.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of /** @type {Child[]} */ (children.flat(Infinity))) {
    if (child === undefined || child === null || child === false) continue
    element.append(child instanceof Node ? child : String(child))
  }
  return element
}

/**
 * Text whose `backtick` spans are code, as the advisor writes commands and paths: each span a
 * <code> element, the rest text nodes; nothing in it is parsed as HTML. A last backtick without
 * its pair stays as written.
 * @param {string} text
 * @returns {Array<HTMLElement | string>}
 */
export function withCode (text) {
  const parts = text.split('`')
  const paired = parts.length % 2 === 1 ? parts : [...parts.slice(0, -2), `${parts.at(-2)}\`${parts.at(-1)}`]
  return paired.map((part, index) => (index % 2 === 1 ? h('code', {}, part) : part)).filter((part) => part !== '')
}

/**
 * Replaces what `element` holds with `children`.
 * @template {Element} E
 * @param {E} element
 * @param {...Children} children
 * @returns {E}
 */
export function show (element, ...children) {
  element.replaceChildren()
  return fill(element, {}, children)
}

/**
 * An API error as a person reads it: the API's stable code and its message, and for a
 * VALIDATION_FAILED each field's problem. Anything else thrown shows as ERROR and its message.
 * @param {unknown} thrown
 * @param {string} [intro]
 * @returns {HTMLDivElement}
 */
export function errorBox (thrown, intro = '') {
  const error = thrown instanceof ApiError ? thrown : { code: undefined, message: thrown instanceof Error ? thrown.message : String(thrown), details: undefined, status: undefined }
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

/**
 * @param {BuildStatus} status
 * @returns {HTMLSpanElement}
 */
export function statusBadge (status) {
  return h('span', { class: `status status-${status}`, 'data-status': status }, statusText(status))
}
