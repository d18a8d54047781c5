// Lint and format: neostandard (fastify's style, and the formatter too: `npm run lint -- --fix`),
// plus typescript-eslint's type-aware rules, which catch what style cannot: a promise nobody
// awaits, an `any` leaking through, a method passed on without its object.
import { createRequire } from 'node:module'
import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

const typeAware = Object.assign({}, ...tseslint.configs.recommendedTypeCheckedOnly.map((config) => config.rules ?? {}))

// The portal runs in the browser: its globals are the browser's, and Node's are errors there. The
// lists come from the `globals` package neostandard itself loads (it is not a dependency of ours).
const globals = createRequire(import.meta.resolve('neostandard'))('globals')
const nodeOnly = Object.keys(globals.node).filter((name) => !(name in globals.browser))

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
    // The portal's plain JavaScript and the domain modules it loads (src/domain/*.js) are typed
    // with JSDoc and checked by tsc (tsconfig.portal.json, tsconfig.json): the same type-aware rules.
    files: ['src/portal/**/*.js', 'src/domain/**/*.js'],
    plugins: { '@typescript-eslint': tseslint.plugin },
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { project: ['./tsconfig.portal.json', './tsconfig.json'], tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      ...typeAware,
      // Pages are async by contract (the router catches what they throw), awaiting or not.
      '@typescript-eslint/require-await': 'off',
      // `void promise` marks a deliberate fire-and-forget (an event handler's), as in the TypeScript.
      'no-void': ['error', { allowAsStatement: true }]
    }
  },
  {
    files: ['src/portal/**/*.js'],
    languageOptions: {
      globals: { ...globals.browser, ...Object.fromEntries(nodeOnly.map((name) => [name, 'off'])) }
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
