import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'artefacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  // The browser UI runs in the page, not in Node.
  { files: ['client/src/**'], languageOptions: { globals: globals.browser } },
  {
    files: ['test/**'],
    // Tests read JSON answers whose shape the assertions themselves check.
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // crypto/ runs unchanged in browsers: no Node module and no Node global (issue 14).
    files: ['crypto/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^node:|^(buffer|crypto|fs|os|path|process|stream|url|util|worker_threads)$',
              message: 'crypto/ must run in browsers too: Web Crypto and isomorphic packages only',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'Buffer', 'process', 'require', '__dirname', 'global'],
    },
  },
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
)
