/**
 * IAM identities storage contract (accounts, users, roles, identity policies, sessions; no I/O).
 * Filled in by the identities work (authorization issue).
 */
export interface IamRepository {
  readonly kind: 'iam';
}
