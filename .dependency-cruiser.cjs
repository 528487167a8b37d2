/**
 * The layering of src/ (docs/architecture.md, "Layers"), checked by `npm run lint:deps`.
 * A request goes down the layers and never back up:
 *
 *   cli/                                  the keyhold command
 *   server/                               assembly of a node, HTTP edge, workers
 *   protocol/  sts/  iam/admin-*.ts       the wire: runners, envelopes, HTTP messages
 *   kms/  (keystores/ beside it)          operations, key resolution, jobs
 *   lower layers                          storage/ hsm/ pkcs11/ auth/ authz/ iam/ (but admin-*)
 *                                         audit/ metrics/ config/ quota/
 *   errors/                               the AWS error registry: imports nothing of ours
 *
 * xks-proxy/ is a second server in the same package: it uses the lower layers only, and only
 * cli/ starts it. Type-only imports count like any other import: a layer that names a higher
 * layer's types depends on it.
 */

/** The front tier: HTTP-facing code that kms/ and the lower layers must not know. */
const FRONT = '^src/(protocol|sts|server|cli|xks-proxy)/|^src/iam/admin-[^/]*\\.ts$';

/** The lower layers (everything below kms/). iam/admin-*.ts is front, the rest of iam/ lower. */
const LOWER = '^src/(storage|hsm|pkcs11|auth|authz|audit|metrics|config|quota)/|^src/iam/';
const LOWER_NOT = '^src/iam/admin-[^/]*\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Modules must not import each other in a loop (type-only loops included). Move what ' +
        'both sides need into a third module below them.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'errors-import-nothing',
      severity: 'error',
      comment: 'src/errors/ is below every layer: it imports nothing of ours.',
      from: { path: '^src/errors/' },
      to: { path: '^src/', pathNot: '^src/errors/' },
    },
    {
      name: 'key-spec-table-imports-nothing',
      severity: 'error',
      comment:
        'web/ (the console) imports src/kms/key-spec-table.ts; it must stay free of imports so ' +
        'the browser bundle gets no server code.',
      from: { path: '^src/kms/key-spec-table\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'lower-not-kms-or-front',
      severity: 'error',
      comment:
        'The layers below kms/ (storage, hsm, pkcs11, auth, authz, iam identities, audit, ' +
        'metrics, config, quota) never import kms/, keystores/ or the front tier.',
      from: { path: LOWER, pathNot: LOWER_NOT },
      to: {
        path: `^src/(kms|keystores)/|${FRONT}`,
        // The custom key store records and connection codes: a leaf that storage/ persists
        // and pkcs11/ maps CKR_* codes onto (imports nothing).
        pathNot: '^src/keystores/types\\.ts$',
      },
    },
    {
      name: 'keystores-below-kms',
      severity: 'error',
      comment:
        'keystores/ sits beside kms/, under its operations: it may name the request context ' +
        'and services bag (kms/context.ts, types only) that its connectors receive, nothing ' +
        'else of kms/, and nothing of the front tier.',
      from: { path: '^src/keystores/' },
      to: { path: `^src/kms/|${FRONT}`, pathNot: '^src/kms/context\\.ts$' },
    },
    {
      name: 'keystores-context-types-only',
      severity: 'error',
      comment: 'keystores/ may import kms/context.ts for its types only.',
      from: { path: '^src/keystores/' },
      to: { path: '^src/kms/context\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'kms-not-front',
      severity: 'error',
      comment:
        'kms/ has no HTTP types: it never imports protocol/, sts/, the admin API, server/, ' +
        'cli/ or xks-proxy/.',
      from: { path: '^src/kms/' },
      to: { path: FRONT },
    },
    {
      name: 'wire-not-server-or-cli',
      severity: 'error',
      comment: 'protocol/, sts/ and the admin API are assembled by server/, never the reverse.',
      from: { path: '^src/(protocol|sts)/|^src/iam/admin-[^/]*\\.ts$' },
      to: { path: '^src/(server|cli)/' },
    },
    {
      name: 'server-not-cli',
      severity: 'error',
      comment: 'cli/ starts servers; server/ does not know the command line.',
      from: { path: '^src/server/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'xks-proxy-on-lower-layers',
      severity: 'error',
      comment:
        'keyhold xks-proxy is a separate server: it uses the lower layers (hsm, pkcs11, auth, ' +
        'config, metrics, errors) and nothing of the KMS node.',
      from: { path: '^src/xks-proxy/' },
      to: { path: '^src/(kms|keystores|storage|protocol|sts|iam|server|cli)/' },
    },
    {
      name: 'only-cli-starts-xks-proxy',
      severity: 'error',
      comment: 'Only cli/ imports xks-proxy/.',
      from: { path: '^src/', pathNot: '^src/(cli|xks-proxy)/' },
      to: { path: '^src/xks-proxy/' },
    },
    {
      name: 'storage-at-the-bottom',
      severity: 'error',
      comment:
        'storage/ is the repository contract and its adapters: it imports errors/, the audit ' +
        'anchor format (audit/anchor.ts) it stores and the custom key store records, nothing else.',
      from: { path: '^src/storage/' },
      to: {
        path: '^src/',
        pathNot: '^src/(storage|errors)/|^src/audit/anchor\\.ts$|^src/keystores/types\\.ts$',
      },
    },
    {
      name: 'metrics-and-quota-are-leaves',
      severity: 'error',
      comment:
        'metrics/ (the registry) and quota/ (the quota table) import nothing of ours but errors/.',
      from: { path: '^src/(metrics|quota)/' },
      to: { path: '^src/', pathNot: '^src/(metrics|quota|errors)/' },
    },
    {
      name: 'hsm-on-storage-only',
      severity: 'error',
      comment: 'hsm/ (root key, domain keys, blobs) uses storage/ and errors/ only.',
      from: { path: '^src/hsm/' },
      to: { path: '^src/', pathNot: '^src/(hsm|storage|errors)/' },
    },
    {
      name: 'authz-is-pure',
      severity: 'error',
      comment:
        'authz/ (the policy language and decision) knows principals (auth/) and errors only.',
      from: { path: '^src/authz/' },
      to: { path: '^src/', pathNot: '^src/(authz|auth|errors)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too (see above).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // protocol/model/ is generated (scripts/gen-model.mjs) and imports nothing of ours.
    exclude: { path: '^src/protocol/model/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
