import { readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { BROWSER_MODULES } from '../../../src/api/routes/portal.js'
import { packageRoot } from '../../../src/package-info.js'
import { buildApp } from '../../helpers/app.js'
import { testConfig } from '../../helpers/config.js'

// The portal loads the domain modules it shares with the server from /domain/: the same files,
// as JavaScript, and none of the domain's other files.

t.test('the shared domain modules are served as they are, and nothing else of the domain', async (t) => {
  const app = await buildApp(t, testConfig(t))
  for (const name of BROWSER_MODULES) {
    const response = await app.inject({ method: 'GET', url: `/domain/${name}`, headers: { authorization: '' } })
    t.equal(response.statusCode, 200, name)
    t.match(response.headers['content-type'], /^(text|application)\/javascript/, `${name} is JavaScript`)
    t.equal(response.headers['x-content-type-options'], 'nosniff')
    t.equal(response.body, await readFile(path.join(packageRoot, 'src', 'domain', name), 'utf8'), `${name} is the file the server imports`)
  }
  for (const url of ['/domain/', '/domain/config.ts', '/domain/schemas/build.ts', '/domain/quotas.js', '/domain/../package-info.ts', '/domain/%2e%2e/package-info.ts']) {
    t.equal((await app.inject({ method: 'GET', url, headers: { authorization: '' } })).statusCode, 404, url)
  }
})
