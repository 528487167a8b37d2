// A node:test reporter that lists only the failed tests, one line each (file, name, first line of
// the error), appended synchronously to $KEYHOLD_TEST_FAILURES_FILE: --test-force-exit ends the
// process before a reporter's stream is flushed. scripts/run-tests.mjs prints the list after the
// TAP stream, so the tail of a long CI log names what failed.
import { appendFileSync } from 'node:fs';

export default async function* failures(source) {
  const out = process.env.KEYHOLD_TEST_FAILURES_FILE;
  for await (const event of source) {
    if (event.type !== 'test:fail' || !out) continue;
    const { name, file, details } = event.data;
    const error = details?.error;
    // A suite that failed only because a test in it failed adds nothing to the list.
    if (error?.failureType === 'subtestsFailed') continue;
    const cause = error?.cause ?? error;
    const message = String(cause?.message ?? cause ?? '').split('\n')[0];
    appendFileSync(out, `${file ?? '?'} :: ${name} :: ${message}\n`);
  }
  yield '';
}
