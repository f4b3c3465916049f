// ESLint (flat config): typescript-eslint's strict type-checked rules on every TypeScript file of the repo.
// `npm run lint`. Rules switched off or relaxed below each say why: they clash with a deliberate project pattern.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'generated/', 'docs-dist/', 'bench/results/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Numbers and booleans in messages and log lines are the point of those templates (`${status}`, `${ok}`).
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
      // Express 5 handlers and fire-and-forget shutdown hooks take async functions where void is expected; an
      // async handler's rejection reaches the error middleware (Express 5), so this is how the project is built.
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      // `_`-prefixed parameters and destructured-away fields are deliberate (e.g. `{ secret: _, ...rest }`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // One-line callbacks that forward a call (`() => resolve(false)`, `dispose: () => rmSync(dir)`) are the
      // project's style; a void value used anywhere else is still reported.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `async` marks a function that implements a Promise-returning contract (Response.text(), a CLI command's
      // run(), a bench window's prepare()) so that a throw inside becomes a rejection; it needs no await for that.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests assert on values they just built; non-null assertions and unbound methods in expect() are idiomatic
    // there, and vitest's `expect.any()` etc. are typed `any`.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // Plain JavaScript (this file, the dependency rules, the redocly lint plugin, bin/): no type information.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: false },
      globals: { process: 'readonly', console: 'readonly', module: 'writable', require: 'readonly', URL: 'readonly' },
    },
  },
  {
    // Scripts the docs site loads in the browser.
    files: ['scripts/docs/assets/**/*.js'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly' } },
  },
);
