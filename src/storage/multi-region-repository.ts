/**
 * Multi-Region key storage contract (no I/O). A set of related multi-Region keys shares one
 * `mrk-` key id in one account; each member is an ordinary key row in its Region, and this
 * repository records which Regions hold a member and which one is the primary.
 * Deleting a key removes its member row (the adapter's job, e.g. a trigger).
 */

export type MultiRegionRole = 'PRIMARY' | 'REPLICA';

export interface MultiRegionMember {
  accountId: string;
  keyId: string;
  region: string;
  role: MultiRegionRole;
}

export interface MultiRegionRepository {
  /** Add a member; throws DuplicateKeyError when the key id already has a member in that Region. */
  addMember(member: MultiRegionMember): Promise<void>;
  /** Every member of the set, primary first, then replicas by Region. */
  listMembers(accountId: string, keyId: string): Promise<MultiRegionMember[]>;
  /**
   * Make `newPrimaryRegion` the primary and the current primary a replica, atomically, if
   * the primary is still in `expectedPrimaryRegion`. Returns false otherwise.
   */
  swapPrimary(
    accountId: string,
    keyId: string,
    expectedPrimaryRegion: string,
    newPrimaryRegion: string,
  ): Promise<boolean>;
}
