/**
 * KMS API metrics: per-operation request counts and latency, errors by AWS error name.
 * Operation labels are bounded to the model's operation names (anything else is
 * `unknown`), so a caller cannot grow the label set.
 */
import { Counter, Histogram } from 'prom-client';
import { registry } from './registry.js';

const requestSeconds = new Histogram({
  name: 'keyhold_kms_request_duration_seconds',
  help: 'KMS API request latency, from the request body read to the response written.',
  labelNames: ['operation', 'outcome'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

const errors = new Counter({
  name: 'keyhold_kms_errors_total',
  help: 'KMS API errors by operation and AWS error name.',
  labelNames: ['operation', 'error'] as const,
  registers: [registry],
});

/** Record one finished request; `error` is the AWS error name when it failed. */
export function observeKmsRequest(
  operation: string,
  seconds: number,
  error: string | undefined,
): void {
  requestSeconds.observe({ operation, outcome: error === undefined ? 'ok' : 'error' }, seconds);
  if (error !== undefined) errors.inc({ operation, error });
}
