// Print one plain closing line ("tests: N passed, N failed, N skipped") that CI can read whatever the runner.
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const line = `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests + results.numTodoTests} skipped`;
    process.stderr.write(`${line}\n`);
  }
}
