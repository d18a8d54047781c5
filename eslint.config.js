// Lint and format: neostandard (fastify's style, and the formatter too: `npm run lint -- --fix`),
// plus typescript-eslint's type-aware rules, which catch what style cannot: a promise nobody
// awaits, an `any` leaking through, a method passed on without its object.
import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

const typeAware = Object.assign({}, ...tseslint.configs.recommendedTypeCheckedOnly.map((config) => config.rules ?? {}))

export default [
  { ignores: ['dist/', 'openapi/', 'node_modules/', 'test/portal/screenshots/', '.tap/'] },
  ...neostandard({ ts: true }),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      ...typeAware,
      // Fastify plugins, hooks and handlers are async by contract, awaited or not.
      '@typescript-eslint/require-await': 'off',
      // `void promise` is how a deliberate fire-and-forget is marked for no-floating-promises.
      'no-void': ['error', { allowAsStatement: true }],
      // Slipway matches control characters on purpose: it strips terminal escapes and refuses NULs
      // in untrusted text (refs, paths, URLs, logs). An accidental one would fail a test instead.
      'no-control-regex': 'off',
      // Loops here wait on flags that other callbacks set (`while (!closed)`), which this rule
      // cannot see: it only reports false alarms in such code.
      'no-unmodified-loop-condition': 'off'
    }
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // tap runs and awaits its subtests itself: `t.test(...)` is not awaited by convention.
      '@typescript-eslint/no-floating-promises': 'off',
      // Tests read answers as `any` (`response.json()`) and check their shape with assertions.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // Dockerfiles and shell lines in tests use ${VAR} literally.
      'no-template-curly-in-string': 'off'
    }
  }
]
