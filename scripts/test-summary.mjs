// Prints the plain "N passed, N failed" line CI reads, from vitest's JSON report.
import { readFileSync, existsSync } from 'node:fs';

const [file, priorStatus] = process.argv.slice(2);
let passed = 0, failed = 0, skipped = 0;
if (existsSync(file)) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  // A file that failed to load has failed suites but no failed test: count it once.
  if (failed === 0 && (report.numFailedTestSuites ?? 0) > 0) failed = report.numFailedTestSuites;
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
} else {
  failed = 1;
  console.error(`no test report at ${file}`);
}
if (priorStatus && priorStatus !== '0' && failed === 0) failed = 1; // typecheck or runner failure
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
