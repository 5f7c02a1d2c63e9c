import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

/**
 * One config for the whole repo: neostandard's style (what fastify and its plugins use), plus the
 * type-aware promise rules that catch unhandled async work in socket handlers. ESLint finds this
 * file from any package directory, so `eslint .` in a package lints that package only.
 */
export default [
  {
    ignores: ['**/node_modules/**', '**/dist/**', '**/data/**', '**/drizzle/**', '**/.turbo/**', '**/.tap/**', '**/coverage/**']
  },
  ...neostandard({ ts: true }),
  {
    files: ['**/*.ts', '**/*.mts', '**/*.cts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        // Each file is checked with the nearest tsconfig.json (every package has one).
        projectService: true,
        tsconfigRootDir: import.meta.dirname
      }
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // tap queues subtests itself: `t.test(...)` need not be awaited, as in tap's docs.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }]
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      // TypeBox names a schema and its static type alike (`const Room` and `type Room`); the
      // compiler already rejects real redeclarations, as typescript-eslint's docs advise.
      '@typescript-eslint/no-redeclare': 'off'
    }
  }
]
