import t from 'tap'
import { isLicenseExpression } from '../../../src/domain/sbom/license-expression.js'

t.test('SPDX license expressions', async (t) => {
  for (const valid of ['MIT', 'Apache-2.0', 'GPL-2.0+', 'GPL-2.0-only WITH Classpath-exception-2.0', '(MIT OR Apache-2.0) AND BSD-3-Clause', '((MIT) OR (ISC))', 'LicenseRef-custom', 'DocumentRef-x:LicenseRef-y']) {
    t.ok(isLicenseExpression(valid), valid)
  }
  for (const invalid of ['', 'MIT License', 'BSD (3 clause)', 'MIT OR', 'AND MIT', '(MIT', 'MIT)', 'MIT WITH', 'MIT/X11', 'GPL v2', 'see LICENSE file']) {
    t.notOk(isLicenseExpression(invalid), invalid)
  }
})
