/**
 * The README's examples, as a newcomer runs them: `keyhold serve --seed examples/seed.json`,
 * AssumeRole as the seeded user alice, the role's session encrypting and decrypting with the
 * seeded alias/app; the banner naming the Regions served and the quotas.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { ROOT, serveWorkers, type Served } from '../helpers/workers.js';

const ALICE = {
  accessKeyId: 'AKIAALICEEXAMPLE0001',
  secretAccessKey: 'readmeAliceSecret0123456789abcdefghijklm',
};

describe('README: the seed example and AssumeRole', () => {
  let served: Served | undefined;
  let url = '';
  let banner = '';

  before(async () => {
    served = await serveWorkers(
      mkdtempSync(join(tmpdir(), 'keyhold-readme-')),
      ['--seed', 'examples/seed.json'],
      { KEYHOLD_REGIONS: 'eu-west-1', KEYHOLD_QUOTAS: 'on', ALICE_SECRET: ALICE.secretAccessKey },
    );
    url = served.url;
    banner = served.output();
  });

  after(async () => {
    await served?.stop();
  });

  it('the banner names the Regions served and the quotas', () => {
    assert.match(banner, /Regions served: us-east-1, eu-west-1/);
    assert.match(banner, /request quotas: AWS's rates .*KEYHOLD_QUOTAS=off/);
  });

  it('alice assumes role/app and its session encrypts and decrypts with alias/app', async () => {
    const sts = new STSClient({ endpoint: url, region: 'us-east-1', credentials: ALICE });
    const assumed = await sts.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::111122223333:role/app',
        RoleSessionName: 's1',
      }),
    );
    const c = assumed.Credentials;
    assert.ok(c?.AccessKeyId?.startsWith('ASIA') === true, 'a session access key');
    const kms = new KMSClient({
      endpoint: url,
      region: 'us-east-1',
      credentials: {
        accessKeyId: c.AccessKeyId as string,
        secretAccessKey: c.SecretAccessKey as string,
        sessionToken: c.SessionToken as string,
      },
    });
    const enc = await kms.send(
      new EncryptCommand({ KeyId: 'alias/app', Plaintext: Buffer.from('hello, keyhold') }),
    );
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
    assert.equal(Buffer.from(dec.Plaintext ?? []).toString(), 'hello, keyhold');
  });

  it('the account root cannot assume the role, as in AWS', async () => {
    const sts = new STSClient({ endpoint: url, region: 'us-east-1', credentials: ROOT });
    await assert.rejects(
      sts.send(
        new AssumeRoleCommand({
          RoleArn: 'arn:aws:iam::111122223333:role/app',
          RoleSessionName: 's2',
        }),
      ),
      /Roles may not be assumed by root accounts/,
    );
  });
});
