// `make check` lints every JavaScript file of the extension, its pages, tests,
// benchmarks and scripts: ESLint's recommended rules plus the few habits we keep
// (ARCHITECTURE.md: no innerHTML with captured text).
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['dist/**', 'build/**', 'target/**', 'node_modules/**', 'fuzz/**', 'bench/out/**', 'tests/editors/**/*.bundle.js'] },
  js.configs.recommended,
  {
    files: ['extension/**/*.js', 'www/**/*.js'],
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: { ...globals.browser, ...globals.webextensions, ...globals.serviceworker } },
  },
  {
    files: ['tests/**/*.{js,mjs}', 'bench/**/*.{js,mjs}', 'scripts/**/*.{js,mjs}', 'eslint.config.js'],
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: { ...globals.node, ...globals.browser, chrome: 'readonly', browser: 'readonly' } },
  },
  { rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }] } },
  {
    // The extension and its pages never write HTML; tests may read it.
    files: ['extension/**/*.js', 'www/**/*.js'],
    rules: {
      'no-restricted-properties': ['error',
        { property: 'innerHTML', message: 'Never write HTML: build nodes and set textContent.' },
        { property: 'outerHTML', message: 'Never write HTML: build nodes and set textContent.' }],
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.property.name='insertAdjacentHTML']", message: 'Never write HTML.' }],
    },
  },
];
