/**
 * Chaos results for people: each test appends lines to the file named by
 * KEYHOLD_CHAOS_SUMMARY (scripts/run-tests-chaos.mjs prints it at the end) and to the
 * test's own diagnostics.
 */
import { appendFileSync } from 'node:fs';

export function report(line: string, diagnostic?: (m: string) => void): void {
  diagnostic?.(line);
  const file = process.env.KEYHOLD_CHAOS_SUMMARY;
  if (file !== undefined && file !== '') appendFileSync(file, line + '\n');
  else process.stdout.write(`# ${line}\n`);
}
