// Prints one plain line, "N passed, N failed", from vitest's JSON report (CI reads only that).
// A missing report means the run died before tests (set-up failed): counted as one failure.
// The second argument counts failed non-test checks (typecheck, lint) as failures too.
import { readFileSync } from "node:fs";

const [file, extra = "0"] = process.argv.slice(2);
let passed = 0;
let failed = Number(extra);
try {
  const report = JSON.parse(readFileSync(file, "utf8"));
  passed = report.numPassedTests;
  failed += report.numFailedTests + report.numPendingTests + report.numTodoTests;
  // A test file that failed to load has no test results but must still fail the run.
  failed += report.testResults.filter((r) => r.status === "failed" && r.assertionResults.length === 0).length;
} catch {
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
