/**
 * `cloudHsmClusters`: the PKCS#11 "clusters" CloudHSM-type custom key stores may name in
 * CloudHsmClusterId. Set by KEYHOLD_CLOUDHSM_CLUSTERS, a JSON object:
 *
 *   {"cluster-1a23b4cdefg": {"module": "/usr/lib/softhsm/libsofthsm2.so", "tokens": ["kms"]}}
 *
 * `tokens` are token labels of one logical cluster, tried in order at connect (a vendor's
 * HSMs that replicate among themselves); keyhold does not replicate keys between tokens.
 */

export interface CloudHsmClusterConfig {
  /** PKCS#11 library path. */
  module: string;
  /** Token labels, tried in order. */
  tokens: readonly string[];
  /** Session pool bound per connected store (default 8). */
  maxSessions?: number | undefined;
  /**
   * PEM file of the cluster's trust anchor (AWS: customerCA.crt). When set, the
   * TrustAnchorCertificate of a store must be this certificate (IncorrectTrustAnchorException).
   */
  trustAnchorFile?: string | undefined;
}

/** AWS's CloudHsmClusterIdType pattern (model). */
export const CLUSTER_ID_RE = /^cluster-[2-7a-zA-Z]{11,16}$/;

export function parseCloudHsmClusters(
  json: string | undefined,
  fail: (msg: string) => never,
): Readonly<Record<string, CloudHsmClusterConfig>> {
  if (json === undefined || json.trim() === '') return Object.freeze({});
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    fail('KEYHOLD_CLOUDHSM_CLUSTERS is not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    fail('KEYHOLD_CLOUDHSM_CLUSTERS must be a JSON object of cluster id → {module, tokens}');
  const out: Record<string, CloudHsmClusterConfig> = {};
  for (const [id, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!CLUSTER_ID_RE.test(id))
      fail(`cloudHsmClusters: '${id}' is not a cluster id (cluster-<11-16 base32 chars>)`);
    const c = v as Partial<CloudHsmClusterConfig> | null;
    if (c === null || typeof c !== 'object' || typeof c.module !== 'string' || c.module === '')
      fail(`cloudHsmClusters.${id}.module must be a PKCS#11 library path`);
    if (
      !Array.isArray(c.tokens) ||
      c.tokens.length === 0 ||
      !c.tokens.every((t) => typeof t === 'string' && t !== '')
    )
      fail(`cloudHsmClusters.${id}.tokens must be a non-empty list of token labels`);
    if (c.maxSessions !== undefined && (!Number.isInteger(c.maxSessions) || c.maxSessions < 1))
      fail(`cloudHsmClusters.${id}.maxSessions must be a positive integer`);
    if (c.trustAnchorFile !== undefined && typeof c.trustAnchorFile !== 'string')
      fail(`cloudHsmClusters.${id}.trustAnchorFile must be a file path`);
    out[id] = Object.freeze({
      module: c.module,
      tokens: Object.freeze([...c.tokens]),
      maxSessions: c.maxSessions,
      trustAnchorFile: c.trustAnchorFile,
    });
  }
  return Object.freeze(out);
}
