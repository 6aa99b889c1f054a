// Sums the vitest JSON reports (test-results*.json) of every package into one closing line: "N passed, N failed".
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

let passed = 0;
let failed = 0;
let skipped = 0;
let reports = 0;
for (const group of ['apps', 'packages']) {
  if (!existsSync(group)) continue;
  for (const name of readdirSync(group)) {
    const dir = join(group, name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    for (const file of readdirSync(dir).filter((f) => /^test-results.*\.json$/.test(f))) {
      const r = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      reports++;
      passed += r.numPassedTests ?? 0;
      failed += (r.numFailedTests ?? 0) + (r.numFailedTestSuites ?? 0);
      skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
      console.log(`${join(dir, file)}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
    }
  }
}
if (reports === 0) failed += 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
