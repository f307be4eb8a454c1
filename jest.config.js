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
    '^test-helpers$': '<rootDir>/test-helpers',
  },
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
  setupFiles: ['<rootDir>/scripts/jest-setup.js'],
  testTimeout: 30000,
};
