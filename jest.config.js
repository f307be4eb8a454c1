/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/examples', '<rootDir>/test'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@beyod/(core|protocols|dispatcher|cli)$': '<rootDir>/packages/$1/src',
    '^@beyod/core/internal$': '<rootDir>/packages/core/src/internal',
    '^create-beyod$': '<rootDir>/packages/create-beyod/src',
    '^test-helpers$': '<rootDir>/test-helpers',
  },
  // The app templates of create-beyod are not part of this project's module graph: their tests
  // (node:test) run inside scaffolded apps (packages/create-beyod/test/templates.int.test.ts).
  modulePathIgnorePatterns: ['<rootDir>/packages/create-beyod/templates/'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/packages/create-beyod/templates/'],
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
  setupFiles: ['<rootDir>/scripts/jest-setup.js'],
  testTimeout: 30000,
};
