/**
 * What real clients do after an asynchronous KMS change: poll DescribeKey until the key
 * reaches a state (Terraform's provider and the SDK waiters of other languages do the same).
 */
import { DescribeKeyCommand, type KeyMetadata, type KMSClient } from '@aws-sdk/client-kms';

export async function waitForKeyState(
  client: KMSClient,
  keyId: string,
  state: string,
  timeoutMs = 10_000,
): Promise<KeyMetadata> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
    const md = out.KeyMetadata as KeyMetadata;
    if (md.KeyState === state) return md;
    if (Date.now() > deadline)
      throw new Error(`${keyId} is still ${md.KeyState} after ${timeoutMs} ms, not ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
