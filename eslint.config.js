// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Packages whose values `src/` takes from a module of its own instead, by package name. */
const leanModules = {
  zod: 'src/util/zod.ts',
  jose: 'src/util/jose.ts',
  undici: 'src/net/undici.ts',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', '.scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      eqeqeq: ['error', 'always'],
      // Fastify handlers and hooks are async by contract even when they do not await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // These load less than the packages' own entry points (see each file); types may come from
    // the packages, values from the files.
    files: ['src/**/*.ts'],
    ignores: ['**/*.test.ts', ...Object.values(leanModules)],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: Object.entries(leanModules).map(([name, file]) => ({
            name,
            message: `Use ${file.replace(/\.ts$/, '.js')}.`,
            allowTypeImports: true,
          })),
        },
      ],
    },
  },
  {
    // A request's work has one abort handle, RequestWork (src/http/request-work.ts). On Node 20
    // every AbortSignal is promoted to the old generation with what it holds, and only a full
    // collection frees it: one a request cost 6 µs and a mark-compact every ~45,000 requests.
    files: ['src/http/**/*.ts', 'src/providers/openai-compatible/**/*.ts', 'src/dialog/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='AbortController']",
          message:
            'A per-request AbortController is promoted to the old generation (Node 20): use the ' +
            "request's RequestWork (request.work), or take the caller's signal.",
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
