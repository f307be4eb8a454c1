// Writes the run's totals to .jest-summary.json so .ci/run can print "N passed, N failed".
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }
  onRunComplete(_contexts, results) {
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests,
      suites: results.numTotalTestSuites,
    };
    fs.writeFileSync(path.join(this.rootDir, '.jest-summary.json'), JSON.stringify(summary) + '\n');
  }
}
module.exports = SummaryReporter;
