import { readFile } from 'node:fs/promises'
import SwaggerParser from '@apidevtools/swagger-parser'
import t from 'tap'
import { OPENAPI_FILE, buildOpenApiDocument, formatDocument } from '../src/openapi.js'
import { buildApp } from './helpers/app.js'
import { testConfig } from './helpers/config.js'

t.test('the committed openapi/openapi.json is what the routes generate', async (t) => {
  const committed = await readFile(OPENAPI_FILE, 'utf8')
  t.equal(formatDocument(await buildOpenApiDocument()), committed, 'run `npm run openapi` and commit the result')
})

t.test('the document is valid OpenAPI with named components', async (t) => {
  const document = JSON.parse(await readFile(OPENAPI_FILE, 'utf8'))
  await t.resolves(SwaggerParser.validate(structuredClone(document)))
  for (const name of ['Build', 'BuildRequest', 'BuildList', 'Error', 'Image', 'Layer', 'Phase']) {
    t.ok(document.components.schemas[name], `components.schemas.${name}`)
  }
  t.same(document.paths['/v1/builds'].post.responses['202'].content['application/json'].schema, { $ref: '#/components/schemas/Build' })
})

t.test('the running API serves the same document at /openapi.json, and Swagger UI at /docs', async (t) => {
  const app = await buildApp(t, testConfig(t))
  const served = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(formatDocument(served.json()), await readFile(OPENAPI_FILE, 'utf8'))
  const docs = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(docs.statusCode, 200)
  t.match(docs.headers['content-type'], /text\/html/)
  t.match(docs.body, /swagger-ui/i)
})
