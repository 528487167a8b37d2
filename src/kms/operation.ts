/**
 * One entry of the operation table: `{ name, action, readOnly, handler }`. Handlers take
 * `(ctx, typedInput)` and return typed output (AWS SDK's own request/response types), with
 * no HTTP objects. What every operation shares runs once, in server/pipeline/.
 */
import type { RequestContext } from './context.js';

export interface Operation<I = unknown, O = unknown> {
  name: string;
  /** The IAM action the operation needs, e.g. `kms:Encrypt`. */
  action: string;
  /** CloudTrail's readOnly flag. */
  readOnly: boolean;
  handler(ctx: RequestContext, input: I): Promise<O>;
}

/** Typed helper so each operation file reads `export default operation<In, Out>({...})`. */
export function operation<I, O>(op: Operation<I, O>): Operation<I, O> {
  return op;
}
