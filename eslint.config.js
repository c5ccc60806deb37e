// ESLint with typescript-eslint's type-checked rules: no-floating-promises and no-misused-promises catch
// an async save that nobody awaits, the bug this project is most afraid of.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ONLY_ROOT_USES_COMMANDS = {
  group: ['**/commands/*'],
  message: 'Only the root (src/app.ts, src/deploy-commands.ts) uses the commands: imports run commands -> discord -> stages.',
};
const NOTHING_IMPORTS_THE_ROOT = {
  group: ['**/app.js', '**/main.js', '**/config.js'],
  message: 'A stage never calls back up into the composition root: take what you need as a constructor argument.',
};
const STAGES_DO_NOT_IMPORT_DISCORD_SIDE = {
  group: ['**/discord/*'],
  message: "The stages do not know Discord's side (client, router, commands); it uses them.",
};
const UTIL_IMPORTS_ONLY_UTIL = {
  group: ['../*', '!./*'],
  message: 'util/ holds small helpers every stage may use, so it imports nothing of the bot.',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Fakes and adapters implement async ports with bodies that happen not to await; that is fine.
      '@typescript-eslint/require-await': 'off',
      // Abort reasons are `unknown` by design (signal.reason); passing them on is correct.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Imports run one way: the composition root (app.ts) -> commands -> discord -> the stages; no stage
  // reaches up into Discord's side or the root. These rules keep the tree as the README draws it.
  {
    files: ['src/*/**/*.ts'],
    ignores: ['src/commands/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [ONLY_ROOT_USES_COMMANDS, NOTHING_IMPORTS_THE_ROOT] }] },
  },
  {
    files: ['src/commands/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NOTHING_IMPORTS_THE_ROOT] }] },
  },
  {
    files: ['src/{monitor,obs,triggers,capture,clips,delivery,review,guilds,store,events,http,util}/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [ONLY_ROOT_USES_COMMANDS, NOTHING_IMPORTS_THE_ROOT, STAGES_DO_NOT_IMPORT_DISCORD_SIDE] }],
    },
  },
  {
    files: ['src/util/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [UTIL_IMPORTS_ONLY_UTIL] }] },
  },
  {
    // Test fakes speak loosely typed wire formats; the bot's own code stays strict.
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Wire formats compare numeric protocol enums with plain numbers.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      'no-control-regex': 'off',
    },
  },
  // Plain-JavaScript preloads for processes that run without a TypeScript loader (the bench's built bot).
  { files: ['eslint.config.js', 'bench/**/*.mjs', 'tests/**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
