/**
 * Terraform's AWS provider (hashicorp/aws 5.100.0, from the filesystem mirror) against a
 * keyhold serving us-east-1 and us-west-2: apply every KMS resource the provider has (keys
 * with policy, rotation period and tags; RSA and HMAC keys; an alias; a grant with an
 * encryption context constraint; aws_kms_ciphertext and data aws_kms_secrets;
 * aws_kms_key_policy; a multi-Region key with aws_kms_replica_key; aws_kms_external_key),
 * then a clean `plan -detailed-exitcode`, a change, and destroy. Each step is checked through
 * the SDK, not only by Terraform's own exit code.
 *
 * Without terraform or the mirror this FAILS on purpose; KEYHOLD_SKIP_TERRAFORM=1 skips it
 * (there or anywhere) with a loud warning. The provider's own waiters (5 consecutive reads a second apart per
 * attribute) make this file take a few minutes; see docs/testing.md.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateMacCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListGrantsCommand,
  ListResourceTagsCommand,
  SignCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import {
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';
import {
  kmsScenarioConfig,
  terraformIn,
  terraformMissing,
  type TfRunner,
} from '../helpers/terraform.js';

const STEP_TIMEOUT_MS = 6 * 60_000;
const missing = terraformMissing();
const skip = process.env.KEYHOLD_SKIP_TERRAFORM === '1';

if (skip) {
  console.warn(
    `\n${'!'.repeat(78)}\n!! KEYHOLD_SKIP_TERRAFORM=1: the Terraform scenario is NOT run.\n!! ${missing ?? 'terraform and the provider mirror are present.'}\n${'!'.repeat(78)}\n`,
  );
}

interface Ids {
  sym: string;
  rsa: string;
  hmac: string;
  pol: string;
  mrk: string;
  ext: string;
}

describe(
  'Terraform (hashicorp/aws) against keyhold',
  { skip: skip ? 'KEYHOLD_SKIP_TERRAFORM=1' : false },
  () => {
    let server: TestServer;
    let west: KMSClient;
    let tmp: string;
    let tf: TfRunner;
    let ids: Ids;
    const vars = (stage: string) => ['-input=false', '-no-color', `-var=stage=${stage}`];

    const step = async (t: TestContext, args: string[], expect = 0) => {
      const r = await tf.ok(args, expect);
      t.diagnostic(`terraform ${args[0]}: ${(r.ms / 1000).toFixed(1)} s`);
      return r;
    };
    const tags = async (client: KMSClient, keyId: string) =>
      Object.fromEntries(
        ((await client.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags ?? []).map((t) => [
          t.TagKey,
          t.TagValue,
        ]),
      );
    const describeIn = async (client: KMSClient, keyId: string) =>
      (await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;

    before(async () => {
      // Fails here, loudly, when terraform or the provider mirror is absent.
      assert.equal(missing, undefined, missing);
      server = await startTestServer({ env: { KEYHOLD_REGIONS: 'us-west-2' } });
      west = server.clientWith(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, 'us-west-2');
      tmp = mkdtempSync(join(tmpdir(), 'keyhold-terraform-'));
      tf = terraformIn(tmp, {
        accessKeyId: TEST_ACCESS_KEY_ID,
        secretAccessKey: TEST_SECRET_ACCESS_KEY,
      });
      writeFileSync(
        join(tmp, 'main.tf'),
        kmsScenarioConfig(server.url, randomBytes(32).toString('base64')),
      );
      await tf.ok(['init', '-input=false', '-no-color']);
    });

    after(async () => {
      west?.destroy();
      await server?.stop();
      if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
    });

    it('apply creates every resource as configured', { timeout: STEP_TIMEOUT_MS }, async (t) => {
      await step(t, ['apply', '-auto-approve', ...vars('one')]);
      ids = JSON.parse((await tf.ok(['output', '-json', 'ids'])).stdout) as Ids;
      const kms = server.client;

      const sym = await describeIn(kms, ids.sym);
      assert.equal(sym?.Description, 'sym one');
      assert.equal(sym?.KeyState, 'Enabled');
      const rotation = await kms.send(new GetKeyRotationStatusCommand({ KeyId: ids.sym }));
      assert.equal(rotation.KeyRotationEnabled, true);
      assert.equal(rotation.RotationPeriodInDays, 180);
      assert.deepEqual(await tags(kms, ids.sym), { env: 'test', stage: 'one' });
      const policy = await kms.send(
        new GetKeyPolicyCommand({ KeyId: ids.sym, PolicyName: 'default' }),
      );
      assert.equal((JSON.parse(policy.Policy as string) as { Id: string }).Id, 'tf-sym');
      const aliases = await kms.send(new ListAliasesCommand({ KeyId: ids.sym }));
      assert.deepEqual(
        aliases.Aliases?.map((a) => a.AliasName),
        ['alias/tf-sym'],
      );

      // The grant kept its constraint (the provider sends the unused one as {}).
      const grants = (await kms.send(new ListGrantsCommand({ KeyId: ids.sym }))).Grants ?? [];
      assert.equal(grants.length, 1);
      assert.equal(grants[0]?.Name, 'tf-grant');
      assert.equal(grants[0]?.GranteePrincipal, `arn:aws:iam::${TEST_ACCOUNT_ID}:root`);
      assert.deepEqual(grants[0]?.Constraints, { EncryptionContextEquals: { dept: 'eng' } });
      assert.deepEqual([...(grants[0]?.Operations ?? [])].sort(), [
        'Decrypt',
        'Encrypt',
        'GenerateDataKey',
      ]);

      // aws_kms_ciphertext made a real ciphertext; data aws_kms_secrets decrypted it.
      const blob = JSON.parse((await tf.ok(['output', '-json', 'ciphertext'])).stdout) as string;
      const plain = await kms.send(
        new DecryptCommand({
          CiphertextBlob: Buffer.from(blob, 'base64'),
          EncryptionContext: { dept: 'eng' },
        }),
      );
      assert.equal(Buffer.from(plain.Plaintext ?? []).toString(), 'hello terraform');
      assert.equal(plain.KeyId, sym?.Arn);
      assert.equal((await tf.ok(['output', '-raw', 'secret'])).stdout, 'hello terraform');

      const rsa = await describeIn(kms, ids.rsa);
      assert.equal(rsa?.KeySpec, 'RSA_2048');
      assert.equal(rsa?.KeyUsage, 'SIGN_VERIFY');
      const sig = await kms.send(
        new SignCommand({
          KeyId: ids.rsa,
          Message: Buffer.from('m'),
          SigningAlgorithm: 'RSASSA_PSS_SHA_256',
        }),
      );
      assert.ok((sig.Signature?.length ?? 0) > 0);
      const hmac = await describeIn(kms, ids.hmac);
      assert.equal(hmac?.KeySpec, 'HMAC_256');
      const mac = await kms.send(
        new GenerateMacCommand({
          KeyId: ids.hmac,
          Message: Buffer.from('m'),
          MacAlgorithm: 'HMAC_SHA_256',
        }),
      );
      assert.equal(mac.Mac?.length, 32);

      const pol = await kms.send(
        new GetKeyPolicyCommand({ KeyId: ids.pol, PolicyName: 'default' }),
      );
      assert.match(pol.Policy as string, /"Sid":"separate"/);

      const replica = await describeIn(west, ids.mrk);
      assert.equal(replica?.KeyState, 'Enabled');
      assert.equal(replica?.Description, 'replica one');
      assert.equal(replica?.MultiRegionConfiguration?.MultiRegionKeyType, 'REPLICA');
      assert.equal(replica?.MultiRegionConfiguration?.PrimaryKey?.Region, 'us-east-1');
      assert.deepEqual(await tags(west, ids.mrk), { site: 'west' });

      const ext = await describeIn(kms, ids.ext);
      assert.equal(ext?.Origin, 'EXTERNAL');
      assert.equal(ext?.KeyState, 'Enabled');
      assert.equal(ext?.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE');
    });

    it(
      'a second plan finds no changes (-detailed-exitcode 0)',
      { timeout: STEP_TIMEOUT_MS },
      async (t) => {
        const r = await step(t, ['plan', '-detailed-exitcode', ...vars('one')]);
        assert.match(r.stdout, /No changes\./);
      },
    );

    it(
      'a change updates description, tags, rotation period and the replica in place',
      { timeout: STEP_TIMEOUT_MS },
      async (t) => {
        const r = await step(t, ['apply', '-auto-approve', ...vars('two')]);
        assert.match(r.stdout, /0 added, 2 changed, 0 destroyed/);
        const kms = server.client;
        const sym = await describeIn(kms, ids.sym);
        assert.equal(sym?.Description, 'sym two');
        const rotation = await kms.send(new GetKeyRotationStatusCommand({ KeyId: ids.sym }));
        assert.equal(rotation.RotationPeriodInDays, 90);
        assert.deepEqual(await tags(kms, ids.sym), { env: 'test', stage: 'two' });
        assert.equal((await describeIn(west, ids.mrk))?.Description, 'replica two');
        // The same key ids: nothing was replaced.
        const again = JSON.parse((await tf.ok(['output', '-json', 'ids'])).stdout) as Ids;
        assert.deepEqual(again, ids);
      },
    );

    it(
      'destroy schedules every key for deletion and removes alias and grant',
      { timeout: STEP_TIMEOUT_MS },
      async (t) => {
        await step(t, ['destroy', '-auto-approve', ...vars('two')]);
        const kms = server.client;
        for (const id of [ids.sym, ids.rsa, ids.hmac, ids.pol, ids.ext]) {
          const md = await describeIn(kms, id);
          assert.equal(md?.KeyState, 'PendingDeletion', id);
          assert.equal(md?.PendingDeletionWindowInDays, 7, id);
        }
        // The replica goes first; the primary then waits for it (PendingReplicaDeletion).
        assert.equal((await describeIn(west, ids.mrk))?.KeyState, 'PendingDeletion');
        assert.equal((await describeIn(kms, ids.mrk))?.KeyState, 'PendingReplicaDeletion');
        const aliases = await kms.send(new ListAliasesCommand({ KeyId: ids.sym }));
        assert.deepEqual(aliases.Aliases, []);
        const grants = await kms.send(new ListGrantsCommand({ KeyId: ids.sym }));
        assert.deepEqual(grants.Grants, []);
        const state = await tf.ok(['state', 'list']);
        assert.equal(state.stdout.trim(), '');
      },
    );
  },
);

if (missing !== undefined && !skip) {
  // Outside the describe too, so the reason is the first thing in the report.
  it('terraform and the hashicorp/aws provider mirror are installed', () => {
    assert.fail(`${missing} Set KEYHOLD_SKIP_TERRAFORM=1 to skip this scenario on purpose.`);
  });
}
