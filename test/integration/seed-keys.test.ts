/**
 * KMS keys in the seed file: created at start through the real operations, reachable by
 * alias at once, created only once across restarts, and refused with a clear message when
 * malformed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import { startTestServer, TEST_ACCOUNT_ID } from '../helpers/server.js';

describe('seed file keys', () => {
  it('creates keys with aliases, description, tags and policy once; a restart keeps them and adds none', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'keyhold-seedkeys-'));
    const dataDir = join(tmp, 'data');
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'root',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${TEST_ACCOUNT_ID}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    };
    const seed = {
      accounts: [
        {
          id: TEST_ACCOUNT_ID,
          keys: [
            {
              aliases: ['alias/app', 'alias/app-2'],
              description: 'app key',
              tags: { team: 'core' },
              policy,
            },
            { aliases: ['alias/signing'], keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' },
          ],
        },
      ],
    };
    writeFileSync(join(tmp, 'seed.json'), JSON.stringify(seed));
    const env = { KEYHOLD_SEED_FILE: join(tmp, 'seed.json') };
    let server = await startTestServer({ dataDir, env });
    const app = await server.client.send(new DescribeKeyCommand({ KeyId: 'alias/app' }));
    assert.equal(app.KeyMetadata?.Description, 'app key');
    assert.equal(
      (await server.client.send(new DescribeKeyCommand({ KeyId: 'alias/app-2' }))).KeyMetadata
        ?.KeyId,
      app.KeyMetadata?.KeyId,
    );
    const tags = await server.client.send(
      new ListResourceTagsCommand({ KeyId: app.KeyMetadata?.KeyId }),
    );
    assert.deepEqual(tags.Tags, [{ TagKey: 'team', TagValue: 'core' }]);
    assert.equal(
      (await server.client.send(new GetKeyPolicyCommand({ KeyId: app.KeyMetadata?.KeyId }))).Policy,
      JSON.stringify(policy),
    );
    const signing = await server.client.send(new DescribeKeyCommand({ KeyId: 'alias/signing' }));
    assert.equal(signing.KeyMetadata?.KeySpec, 'ECC_NIST_P256');
    const before = (await server.client.send(new ListKeysCommand({}))).Keys?.length;
    assert.equal(before, 2);
    await server.stop();

    server = await startTestServer({ dataDir, env });
    assert.equal(
      (await server.client.send(new ListKeysCommand({}))).Keys?.length,
      2,
      'no duplicates after restart',
    );
    assert.equal(
      (await server.client.send(new DescribeKeyCommand({ KeyId: 'alias/app' }))).KeyMetadata?.KeyId,
      app.KeyMetadata?.KeyId,
    );
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses a malformed seed key with a message naming the place', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'keyhold-seedkeys-'));
    writeFileSync(
      join(tmp, 'seed.json'),
      JSON.stringify({ accounts: [{ id: TEST_ACCOUNT_ID, keys: [{ description: 'no alias' }] }] }),
    );
    await assert.rejects(
      startTestServer({ env: { KEYHOLD_SEED_FILE: join(tmp, 'seed.json') } }),
      /accounts\[0\]\.keys\[0\]: 'aliases' must be a non-empty list/,
    );
    writeFileSync(
      join(tmp, 'seed.json'),
      JSON.stringify({ accounts: [{ id: TEST_ACCOUNT_ID, keys: [{ aliases: ['alias/aws/x'] }] }] }),
    );
    await assert.rejects(
      startTestServer({ env: { KEYHOLD_SEED_FILE: join(tmp, 'seed.json') } }),
      /keys\[0\]: InvalidAliasNameException/,
    );
    rmSync(tmp, { recursive: true, force: true });
  });
});
