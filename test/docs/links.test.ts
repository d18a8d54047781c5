import { access, readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { packageRoot } from '../../src/package-info.js'
import { allDocs, headingAnchors, linkTargets, productDocs, withoutCode } from '../helpers/docs.js'

const read = (file: string) => readFile(path.join(packageRoot, file), 'utf8')
const exists = (file: string) => access(path.join(packageRoot, file)).then(() => true, () => false)

t.test('every relative link in the documentation leads to a file, and to a heading in it', async (t) => {
  for (const file of await allDocs()) {
    const text = await read(file)
    for (const target of linkTargets(text)) {
      if (/^[a-z]+:/i.test(target)) continue
      const [linkPath = '', anchor] = target.split('#')
      const resolved = linkPath === '' ? file : path.join(path.dirname(file), decodeURIComponent(linkPath))
      if (!(await exists(resolved))) {
        t.fail(`${file}: ${target} leads nowhere (${resolved})`)
        continue
      }
      if (anchor !== undefined && resolved.endsWith('.md')) {
        t.ok(headingAnchors(await read(resolved)).has(anchor), `${file}: ${target} names a heading of ${resolved}`)
      }
    }
  }
})

t.test('every docs/ page the code names exists', async (t) => {
  const sources: string[] = ['.dependency-cruiser.cjs']
  for (const folder of ['src', 'workers', 'scripts', 'docker', 'ci']) {
    for (const file of await readdir(path.join(packageRoot, folder), { recursive: true })) {
      if (/\.(ts|js|cjs|mjs|sh|html|ya?ml)$|Dockerfile$/.test(file)) sources.push(path.join(folder, file))
    }
  }
  for (const file of sources) {
    for (const [page] of (await read(file)).matchAll(/\bdocs\/[\w./-]+\.md\b/g)) {
      t.ok(await exists(page), `${file} names ${page}`)
    }
  }
})

// The product documentation describes Slipway to the people who run it, wherever that is; notes
// about the machine it was developed on belong in CONTRIBUTING.md or bench/README.md.
t.test('the product documentation does not speak of the development machine', async (t) => {
  const machineTalk = /this machine|these machines|development (VM|machine)|\b(dev|test) VM\b|sandbox|\/work\/|\b2[- ]cores?\b|nothing can be pulled/i
  for (const file of await productDocs()) {
    const found = machineTalk.exec(withoutCode(await read(file)))
    t.notOk(found, `${file}${found ? `: "${found[0]}"` : ''}`)
  }
})
