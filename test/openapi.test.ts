import { readFile } from 'node:fs/promises'
import SwaggerParser from '@apidevtools/swagger-parser'
import t from 'tap'
import { OPENAPI_FILE, buildOpenApiDocument, formatDocument } from '../src/openapi.js'

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
