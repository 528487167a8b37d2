/**
 * The error registry (src/errors/) against AWS's model, the wire statuses and docs/errors.md:
 * a code cannot be added, dropped or given another status in one place only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { KMS_ERROR_NAMES, KMS_ERRORS, type KmsErrorName } from '../../src/errors/aws-errors.js';
import { IAM_ERROR_CODES, IAM_ERRORS } from '../../src/errors/iam-errors.js';
import { IAM_HTTP_STATUS, KMS_HTTP_STATUS } from '../../src/protocol/wire-errors.js';

interface ModelShape {
  exception?: boolean;
  fault?: boolean;
  error?: { httpStatusCode?: number };
}
interface Model {
  operations: Record<string, { errors?: { shape: string }[] }>;
  shapes: Record<string, ModelShape>;
}

const model = JSON.parse(readFileSync('model/kms-service-2.json', 'utf8')) as Model;

/** Registry codes the KMS model does not list, and why keyhold returns them. */
const FRONT_END: Readonly<Record<string, string>> = {
  AccessDeniedException: 'authorization refusal of the AWS front end',
  ExpiredTokenException: 'expired STS session token (front end)',
  IncompleteSignatureException: 'SigV4 parsing (front end)',
  InvalidSignatureException: 'SigV4 verification (front end)',
  MissingAuthenticationTokenException: 'no Authorization header (front end)',
  RequestEntityTooLargeException: 'body size limit (front end)',
  SerializationException: 'JSON 1.1 decoding (front end)',
  ThrottlingException: 'request quotas (front end)',
  UnknownOperationException: 'X-Amz-Target routing (front end)',
  UnrecognizedClientException: 'unknown access key (front end)',
  ValidationException: 'model constraint validation (front end, Coral wording)',
};

const modeled = new Set(
  Object.values(model.operations).flatMap((op) => (op.errors ?? []).map((e) => e.shape)),
);
const registry = new Set<string>(KMS_ERROR_NAMES);

/** `| \`Code\` | status |` rows of docs/errors.md (Prettier pads the columns). */
function documentedStatuses(): Map<string, number> {
  const rows = readFileSync('docs/errors.md', 'utf8').matchAll(/^\| `(\w+)` +\| (\d{3}) +\|/gm);
  return new Map([...rows].map((m) => [m[1] ?? '', Number(m[2])]));
}

describe('the KMS error registry', () => {
  it('holds every exception a KMS operation of the model can return', () => {
    const missing = [...modeled].filter((c) => !registry.has(c));
    assert.deepEqual(missing, []);
  });

  it('every exception shape of the model is returned by some operation', () => {
    const shapes = Object.entries(model.shapes).filter(([, s]) => s.exception === true);
    assert.deepEqual(
      shapes.map(([name]) => name).filter((n) => !modeled.has(n)),
      [],
    );
  });

  it('holds nothing else than the modeled exceptions and the listed front-end codes', () => {
    const extra = [...registry].filter((c) => !modeled.has(c)).sort();
    assert.deepEqual(extra, Object.keys(FRONT_END).sort());
    for (const c of Object.keys(FRONT_END)) assert.ok(!modeled.has(c), `${c} is modeled now`);
  });

  it("marks as server faults exactly the model's server faults", () => {
    for (const code of KMS_ERROR_NAMES) {
      const shape = model.shapes[code];
      const expected = shape?.fault === true ? 'server' : 'client';
      assert.equal(KMS_ERRORS[code], expected, code);
    }
  });

  it("answers each code with the model's status, else 400 for client and 5xx for server faults", () => {
    for (const code of KMS_ERROR_NAMES) {
      const status = KMS_HTTP_STATUS[code];
      const modelStatus = model.shapes[code]?.error?.httpStatusCode;
      if (modelStatus !== undefined) assert.equal(status, modelStatus, code);
      else if (KMS_ERRORS[code] === 'server') assert.ok(status >= 500, code);
      else if (code in FRONT_END) assert.ok([400, 403, 413].includes(status), code);
      else assert.equal(status, 400, `${code}: real KMS answers 400 for client faults`);
    }
  });

  it('names every code in docs/errors.md with its status', () => {
    const docs = documentedStatuses();
    for (const code of KMS_ERROR_NAMES) assert.equal(docs.get(code), KMS_HTTP_STATUS[code], code);
  });
});

describe('the IAM/STS error registry', () => {
  it('calls Receiver exactly the 5xx codes', () => {
    for (const code of IAM_ERROR_CODES)
      assert.equal(IAM_ERRORS[code] === 'Receiver', IAM_HTTP_STATUS[code] >= 500, code);
  });

  it('names every code in docs/errors.md with its status, and nothing more', () => {
    const docs = documentedStatuses();
    for (const code of IAM_ERROR_CODES) assert.equal(docs.get(code), IAM_HTTP_STATUS[code], code);
    const known = new Set<string>([...KMS_ERROR_NAMES, ...IAM_ERROR_CODES]);
    assert.deepEqual(
      [...docs.keys()].filter((c) => !known.has(c)),
      [],
    );
  });

  it('shares no code with the KMS registry', () => {
    const kms = new Set<string>(KMS_ERROR_NAMES);
    assert.deepEqual(
      IAM_ERROR_CODES.filter((c) => kms.has(c)),
      [],
    );
  });
});

describe('src/errors/', () => {
  it('imports nothing outside itself (it sits below every layer)', () => {
    for (const file of readdirSync('src/errors')) {
      const text = readFileSync(`src/errors/${file}`, 'utf8');
      const specs = [...text.matchAll(/^import[^;]*?from '([^']+)'/gms)].map((m) => m[1] ?? '');
      assert.deepEqual(
        specs.filter((s) => !/^\.\/[\w-]+\.js$/.test(s)),
        [],
        file,
      );
    }
  });

  it('is what the code names as a KmsErrorName (type check)', () => {
    const code: KmsErrorName = 'NotFoundException';
    assert.equal(KMS_ERRORS[code], 'client');
  });
});
