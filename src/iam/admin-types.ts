/** The admin API's operation shape, shared by admin-api.ts and admin-audit-ops.ts. */
import type { Principal } from '../auth/principal.js';
import type { RequestHandlerDeps } from '../protocol/handle-request.js';
import type { IdentityService } from './identity-service.js';

export type Input = Record<string, unknown>;
export type Output = Record<string, unknown>;

/** What operations beyond identities (audit, authorization) read of the running node. */
export interface AdminEnv {
  deps: RequestHandlerDeps;
  region: string;
  sourceIp: string;
  now: Date;
}

export interface AdminOp {
  readOnly: boolean;
  /** The account the call acts on; the caller must be its root. */
  account(input: Input, caller: Principal): string;
  run(ids: IdentityService, input: Input, caller: Principal, env: AdminEnv): Promise<Output>;
}
