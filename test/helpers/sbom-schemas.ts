import { readFile } from 'node:fs/promises'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'

/**
 * A validator holding the published SPDX 2.3 and CycloneDX 1.5 JSON schemas
 * (test/fixtures/schemas/README.md says where they come from), by file name:
 * `validate('spdx-2.3.schema.json', document)`, `validate('bom-1.5.schema.json', bom)`.
 */
export async function sbomSchemas (): Promise<Ajv> {
  // Formats ajv-formats lacks (IRIs, international e-mail addresses) are taken as they are.
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, formats: { 'iri-reference': true, 'idn-email': true } })
  addFormats.default(ajv)
  for (const name of ['spdx.schema.json', 'jsf-0.82.schema.json', 'bom-1.5.schema.json', 'spdx-2.3.schema.json']) {
    ajv.addSchema(JSON.parse(await readFile(new URL(`../fixtures/schemas/${name}`, import.meta.url), 'utf8')) as object, name)
  }
  return ajv
}
