import { buildRights, json, session, signedIn, whenTokenRefused } from './api.js'
import { errorBox, h, show } from './dom.js'
import { buildPage } from './pages/build.js'
import { buildsPage } from './pages/builds.js'
import { repoPage } from './pages/repo.js'
import { storagePage } from './pages/storage.js'
import { submitPage } from './pages/submit.js'

// A page per hash route (#/builds, #/builds/ID, #/submit, #/repos/URL, #/storage), so the server
// needs only to serve these files. Each page gets a signal that aborts when the person leaves it,
// which stops its polling and log stream.

/**
 * What a page is given besides the element it fills.
 * @typedef {object} PageContext
 * @property {string} id The route's parameter, if it has one: a build id, a repository URL.
 * @property {URLSearchParams} query What follows `?` in the hash.
 * @property {AbortSignal} signal Aborts when the person leaves the page.
 */

/** @typedef {(main: HTMLElement, context: PageContext) => Promise<void>} Page */

const main = element('main')
/** @type {[RegExp, Page][]} */
const routes = [
  [/^#\/builds\/([^/?]+)(?:\?.*)?$/, buildPage],
  [/^#\/repos\/([^?]+)$/, repoPage],
  [/^#\/submit(?:\?.*)?$/, submitPage],
  [/^#\/storage$/, storagePage],
  [/^(?:#\/?(?:builds)?(?:\?.*)?)?$/, buildsPage]
]
let leaving = new AbortController()

/**
 * An element the page's HTML holds.
 * @param {string} id
 * @returns {HTMLElement}
 */
function element (id) {
  const found = document.getElementById(id)
  if (!found) throw new Error(`index.html has no #${id}`)
  return found
}

function route () {
  leaving.abort()
  leaving = new AbortController()
  showSession()
  if (!session.token()) return signInPage()
  const hash = location.hash
  const query = new URLSearchParams(hash.split('?')[1] ?? '')
  for (const [pattern, page] of routes) {
    const match = pattern.exec(hash)
    if (!match) continue
    markNav(page === submitPage ? 'submit' : page === storagePage ? 'storage' : 'builds')
    const { signal } = leaving
    void page(main, { id: match[1] ? decodeURIComponent(match[1]) : '', query, signal }).catch((/** @type {unknown} */ error) => {
      if (!signal.aborted) show(main, errorBox(error, 'The page could not be loaded:'))
    })
    return
  }
  show(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no such page in the portal. ', h('a', { href: '#/builds' }, 'See the builds')))
}

/** @param {string} current */
function markNav (current) {
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.getAttribute('data-nav') === current) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
}

function showSession () {
  const box = element('session')
  const token = session.token()
  if (!token) {
    markNewBuild(null)
    return show(box, 'Not signed in')
  }
  const forget = () => {
    session.signOut()
    route()
  }
  const forgetButton = h('button', { type: 'button', class: 'link', onclick: forget }, 'Forget token')
  show(box, 'Signed in with a token · ', forgetButton)
  void signedIn().then((self) => {
    // Another token may have been signed in meanwhile.
    if (!self || session.token() !== token) return
    markNewBuild(self)
    show(
      box,
      'Signed in as ',
      h('strong', { id: 'session-name' }, self.name),
      ' ',
      h('span', { id: 'session-scopes', class: 'scopes', title: 'What this token may do' }, `(${self.scopes.join(', ')})`),
      ' · ',
      forgetButton
    )
  })
}

/**
 * The header's New build link, offered only to a token that may start builds; for another, it
 * stays in its place, disabled, saying why.
 * @param {import('../domain/schemas/token.js').TokenSelf | null} self
 */
function markNewBuild (self) {
  const link = document.querySelector('[data-nav=submit]')
  if (!link) return
  const { write, why } = buildRights(self)
  if (write) {
    link.setAttribute('href', '#/submit')
    link.removeAttribute('aria-disabled')
    link.removeAttribute('title')
  } else {
    link.removeAttribute('href')
    link.setAttribute('aria-disabled', 'true')
    link.setAttribute('title', why)
  }
}

/**
 * Asks for a token, checks it on the API, and keeps it for this tab only.
 * @param {unknown} [problem] Why the last token was refused.
 */
function signInPage (problem) {
  leaving.abort()
  markNav('')
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' })
  const status = h('div', { id: 'sign-in-status' }, problem ? errorBox(problem) : null)
  /** @param {Event} event */
  const submit = (event) => {
    event.preventDefault()
    void signIn(input.value.trim(), status)
  }
  const form = h(
    'form',
    { class: 'card sign-in', onsubmit: submit },
    h('h1', {}, 'Sign in to Slipway'),
    h('label', { for: 'token' }, 'API token'),
    input,
    h(
      'p',
      { id: 'token-help', class: 'help' },
      'Paste a Slipway API token (it starts with slw_). To see builds it needs the builds:read scope; to submit, cancel ' +
        'and retry, builds:write. An admin makes one with ',
      h('code', {}, 'slipway token create --name portal --scopes builds:read,builds:write'),
      '. The token is kept in this browser tab only and forgotten when you close it.'
    ),
    h('button', { type: 'submit' }, 'Sign in'),
    status
  )
  show(main, form)
  input.focus()
}

/**
 * @param {string} token
 * @param {HTMLElement} status Where a refusal is shown.
 */
async function signIn (token, status) {
  if (!token) return
  session.signIn(token)
  try {
    await json('/v1/builds?limit=1')
    route()
  } catch (error) {
    session.signOut()
    show(status, errorBox(error, 'This token was not accepted:'))
  }
}

// A 401 means the token is unknown or revoked: forget it and ask again, with the API's reason.
// A 403 means it lacks a scope for what was asked: say so where the action was, and offer another.
whenTokenRefused((error) => {
  if (error.status === 401) {
    session.signOut()
    showSession()
    signInPage(error)
  }
})

window.addEventListener('hashchange', route)
route()
