/**
 * Grants storage contract (no I/O). Filled in by the grants work (authorization issue).
 */
export interface GrantRepository {
  readonly kind: 'grants';
}
