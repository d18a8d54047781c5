import { ApiError, buildRights, json, signedIn } from '../api.js'
import { errorBox, h, show } from '../dom.js'

// The form sends what the person typed as POST /v1/builds asks for it, and the API alone decides
// what is valid: its VALIDATION_FAILED details (`body.tags[0]: must match …`) and its other codes
// are shown next to the field they are about. The browser checks only the obvious (a repository
// is required, numbers are numbers).

/**
 * @import { Build } from '../../domain/schemas/build.js'
 * @import { PageContext } from '../app.js'
 */

/** @typedef {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} Control */
/**
 * One field of the form: the request's property it fills, and how it is asked for.
 * @typedef {{ name: string, label: string, help: string, input: () => Control }} Field
 */

/**
 * Codes of refusals about one field, which the API reports without a `details` path.
 * @type {Record<string, string>}
 */
const FIELD_OF_CODE = {
  REPO_URL_INVALID: 'repo',
  LOCAL_REPOS_DISABLED: 'repo',
  REPO_HOST_NOT_ALLOWED: 'repo',
  REF_INVALID: 'ref',
  IMAGE_NAME_INVALID: 'image',
  PUSH_WITHOUT_IMAGE: 'push',
  TIMEOUT_TOO_LONG: 'timeoutSeconds',
  VARIANT_NAME_REPEATED: 'variants'
}

/** A problem the browser found in a field before asking the API. */
class FieldProblem extends Error {
  /**
   * @param {string} field
   * @param {string} message
   */
  constructor (field, message) {
    super(message)
    this.field = field
  }
}

/** @type {(name: string, label: string, help: string, attrs?: Record<string, string | number | boolean>) => Field} */
const text = (name, label, help, attrs = {}) => ({ name, label, help, input: () => h('input', { type: 'text', ...attrs }) })
/** @type {(name: string, label: string, help: string, options: [value: string, title: string][]) => Field} */
const choice = (name, label, help, options) => ({
  name,
  label,
  help,
  input: () => h('select', {}, options.map(([value, title]) => h('option', { value }, title)))
})
/** @type {(name: string, label: string, help: string) => Field} */
const check = (name, label, help) => ({ name, label, help, input: () => h('input', { type: 'checkbox' }) })
/** @type {(name: string, label: string, help: string, placeholder: string) => Field} */
const area = (name, label, help, placeholder) => ({ name, label, help, input: () => h('textarea', { rows: 3, placeholder }) })

const MAIN_FIELDS = [
  text('repo', 'Repository', 'The git repository to build: https://host/path, ssh://host/path or user@host:path.', { required: true, placeholder: 'https://github.com/acme/app.git', size: 60 }),
  text('ref', 'Ref', "A branch, a tag or a commit SHA. Empty: the repository's default branch.", { placeholder: 'main' }),
  text('image', 'Image', 'Where to push, without a tag, e.g. localhost:5000/team/app. Empty, or with push off: built locally in the server\'s local namespace (slipway.local/<name> by default), not pushed.', { size: 50 }),
  text('tags', 'Tags', "Comma-separated. Empty: the commit's first 12 hex digits.", { placeholder: 'latest, v1.2.0' })
]

const MORE_FIELDS = [
  text('context', 'Context folder', 'Relative to the repository root. Empty: the root (".").'),
  text('dockerfile', 'Dockerfile', 'Relative to the repository root. Empty: Dockerfile in the context folder.'),
  text('target', 'Target stage', 'The stage of a multi-stage Dockerfile to build. Empty: the last one.'),
  area('buildArgs', 'Build arguments', 'One NAME=value per line (ARG values).', 'NODE_ENV=production'),
  area('labels', 'Labels', 'One name=value per line, added to the image.', 'team=platform'),
  choice('push', 'Push', 'Push every tag to the registry. Default: yes when an image is given.', [['', 'default'], ['true', 'yes'], ['false', 'no']]),
  check('noCache', 'Build without the layer cache', 'Every step runs again.'),
  choice('builder', 'Builder', "BuildKit or Docker's classic builder. Default: the worker's.", [['', 'default'], ['buildkit', 'BuildKit'], ['classic', 'classic']]),
  choice('priority', 'Priority', 'High builds start before normal ones, normal before low.', [['', 'normal (default)'], ['high', 'high'], ['low', 'low']]),
  { name: 'timeoutSeconds', label: 'Time limit (seconds)', help: "Past it the build ends timed out. Empty: the server's default.", input: () => h('input', { type: 'number', min: 1, step: 1 }) },
  { name: 'maxImageBytes', label: 'Size budget (MB)', help: '1 MB = 1,000,000 bytes. The image may not be larger (see Budget mode).', input: () => h('input', { type: 'number', min: 0, step: 'any' }) },
  choice('budgetMode', 'Budget mode', 'fail: an image over budget is not pushed and the build fails; warn: it succeeds with a warning.', [['', 'fail (default)'], ['warn', 'warn']]),
  check('submodules', 'Fetch git submodules', 'Shallow, each URL checked like the repository\'s.'),
  check('keepGitDir', 'Keep the .git folder in the context', 'Only for builds that run git themselves; without it, COPY . . stays cached between commits.'),
  check('force', 'Build even if an identical build exists', 'Otherwise an identical queued or running build is joined, and a succeeded one reused.'),
  check('supersede', 'Cancel older queued builds of this repository, ref and image', ''),
  area('variants', 'Variants (JSON)', 'Build the same commit 2 to 8 ways and compare their sizes: a JSON list of {name, dockerfile?, target?, buildArgs?}.', '[{"name": "single", "dockerfile": "Dockerfile"}, {"name": "multi", "dockerfile": "Dockerfile.multi"}]')
]

/**
 * #/submit?repo=: the build options as a form.
 * @param {HTMLElement} main
 * @param {PageContext} context
 */
export async function submitPage (main, { query, signal }) {
  const banner = h('div', { id: 'submit-result' })
  const more = h('details', { class: 'more' }, h('summary', {}, 'More options: context, Dockerfile, target, build arguments, cache, budget, variants…'), MORE_FIELDS.map(field))
  const submitButton = h('button', { type: 'submit' }, 'Submit build')
  const form = h('form', { id: 'submit-form', class: 'card' }, MAIN_FIELDS.map(field), more, submitButton, banner)
  const repo = query.get('repo')
  if (repo) control(form, 'repo').value = repo
  const { why } = buildRights(await signedIn())
  show(
    main,
    h('h1', {}, 'New build'),
    // The form stays, so its fields can be read and filled; the API refuses the submit, and says so.
    why ? h('div', { class: 'warning-box', id: 'submit-not-allowed' }, `${why}: a token with builds:write is needed to submit this form.`) : null,
    h('p', { class: 'help' }, 'Slipway clones the repository, builds its Dockerfile, pushes the image and reports where its bytes went. Only the repository is required.'),
    form
  )

  /** @param {SubmitEvent} event */
  const submit = async (event) => {
    event.preventDefault()
    clearErrors(form)
    show(banner)
    let body
    try {
      body = requestOf(form)
    } catch (problem) {
      if (!(problem instanceof FieldProblem)) throw problem
      showFieldError(form, problem.field, problem.message)
      return focusFirstError(form)
    }
    submitButton.disabled = true
    try {
      const build = /** @type {Build} */ (await json('/v1/builds', { method: 'POST', body, signal }))
      location.hash = `#/builds/${build.id}`
    } catch (error) {
      if (signal.aborted) return
      show(banner, errorBox(error, 'The build was not accepted:'))
      if (error instanceof ApiError) placeErrors(form, error)
      focusFirstError(form)
    } finally {
      submitButton.disabled = false
    }
  }
  form.addEventListener('submit', (event) => { void submit(event) })
}

/** @param {Field} field */
function field ({ name, label, help, input }) {
  const control = input()
  control.id = `field-${name}`
  control.name = name
  control.setAttribute('aria-describedby', `help-${name} error-${name}`)
  const checkbox = control.type === 'checkbox'
  return h(
    'div',
    { class: `field${checkbox ? ' checkbox' : ''}`, 'data-field': name },
    checkbox ? [control, h('label', { for: control.id }, label)] : [h('label', { for: control.id }, label), control],
    help ? h('p', { class: 'help', id: `help-${name}` }, help) : null,
    h('p', { class: 'field-error', id: `error-${name}`, role: 'alert' })
  )
}

/**
 * The form's control named `name`.
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {Control}
 */
function control (form, name) {
  const found = form.elements.namedItem(name)
  if (found instanceof HTMLInputElement || found instanceof HTMLSelectElement || found instanceof HTMLTextAreaElement) return found
  throw new Error(`The form has no field ${name}`)
}

/**
 * The form as a request body: only what was filled in, so the API's defaults apply to the rest.
 * @param {HTMLFormElement} form
 * @returns {Record<string, unknown>}
 */
function requestOf (form) {
  const value = (/** @type {string} */ name) => control(form, name).value.trim()
  /** @type {Record<string, unknown>} */
  const body = {}
  for (const name of ['repo', 'ref', 'image', 'context', 'dockerfile', 'target', 'builder', 'priority', 'budgetMode']) if (value(name)) body[name] = value(name)
  if (value('tags')) body.tags = value('tags').split(',').map((tag) => tag.trim()).filter(Boolean)
  for (const name of ['buildArgs', 'labels']) if (value(name)) body[name] = pairsOf(name, value(name))
  if (value('push')) body.push = value('push') === 'true'
  const checked = (/** @type {string} */ name) => {
    const box = control(form, name)
    return box instanceof HTMLInputElement && box.checked
  }
  for (const name of ['noCache', 'submodules', 'keepGitDir', 'force', 'supersede']) if (checked(name)) body[name] = true
  if (value('timeoutSeconds')) body.timeoutSeconds = Number(value('timeoutSeconds'))
  if (value('maxImageBytes')) body.maxImageBytes = Math.round(Number(value('maxImageBytes')) * 1_000_000)
  if (value('variants')) {
    try {
      body.variants = JSON.parse(value('variants'))
    } catch (error) {
      throw new FieldProblem('variants', `This is not JSON: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return body
}

/**
 * @param {string} name
 * @param {string} text One NAME=value a line.
 * @returns {Record<string, string>}
 */
function pairsOf (name, text) {
  /** @type {Record<string, string>} */
  const pairs = {}
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const equals = line.indexOf('=')
    if (equals < 1) throw new FieldProblem(name, `"${line}" is not NAME=value.`)
    pairs[line.slice(0, equals)] = line.slice(equals + 1)
  }
  return pairs
}

/**
 * Puts each problem the API named next to its field: `body.tags[0]` belongs to tags.
 * @param {HTMLFormElement} form
 * @param {ApiError} error
 */
function placeErrors (form, error) {
  const details = error.details ?? []
  for (const detail of details) {
    const name = /^body\.([A-Za-z]+)/.exec(detail.path)?.[1]
    showFieldError(form, name, `${detail.path.replace(/^body\./, '')}: ${detail.message}`)
  }
  const field = FIELD_OF_CODE[error.code]
  if (details.length === 0 && field) showFieldError(form, field, `${error.code}: ${error.message}`)
}

/**
 * @param {HTMLFormElement} form
 * @param {string | undefined} name
 * @param {string} message
 */
function showFieldError (form, name, message) {
  const box = name && form.querySelector(`#error-${name}`)
  if (!box) return
  box.append(h('span', {}, message))
  box.closest('.field')?.classList.add('invalid')
  const more = box.closest('details')
  if (more) more.open = true
}

/** @param {HTMLFormElement} form */
function focusFirstError (form) {
  const first = form.querySelector('.field.invalid [name]')
  if (first instanceof HTMLElement) first.focus()
}

/** @param {HTMLFormElement} form */
function clearErrors (form) {
  for (const box of form.querySelectorAll('.field-error')) box.replaceChildren()
  for (const invalid of form.querySelectorAll('.field.invalid')) invalid.classList.remove('invalid')
}
