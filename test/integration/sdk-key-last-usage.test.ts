/**
 * GetKeyLastUsage through the SDK: nothing before the first use, then the operation, time,
 * request id and the CloudTrail event id of the last successful cryptographic call — for
 * both keys of a ReEncrypt — while failed calls and non-cryptographic calls leave it alone.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GetKeyLastUsageCommand,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import Database from '../../src/storage/sqlite/driver.js';
import { expectAwsError, startTestServer, type TestServer } from '../helpers/server.js';

describe('GetKeyLastUsage', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ keepDataDir: true });
  });
  after(async () => {
    await server.stop();
    rmSync(server.dataDir, { recursive: true, force: true });
  });
  const newKey = async () =>
    (await server.client.send(new CreateKeyCommand({}))).KeyMetadata as {
      KeyId: string;
      Arn: string;
      CreationDate: Date;
    };

  it('a new key has no usage; TrackingStartDate is its creation date (tracking began before)', async () => {
    const k = await newKey();
    const u = await server.client.send(new GetKeyLastUsageCommand({ KeyId: k.Arn }));
    assert.equal(u.KeyId, k.KeyId);
    assert.equal(u.KeyLastUsage, undefined);
    assert.equal(u.KeyCreationDate?.getTime(), k.CreationDate.getTime());
    assert.equal(u.TrackingStartDate?.getTime(), k.CreationDate.getTime());
  });

  it('records the last successful cryptographic call with its request id and audit event id', async () => {
    const k = await newKey();
    await server.client.send(new DescribeKeyCommand({ KeyId: k.KeyId }));
    assert.equal(
      (await server.client.send(new GetKeyLastUsageCommand({ KeyId: k.KeyId }))).KeyLastUsage,
      undefined,
      'DescribeKey is not tracked',
    );
    const enc = await server.client.send(
      new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') }),
    );
    const dec = await server.client.send(
      new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }),
    );
    const u = await server.client.send(new GetKeyLastUsageCommand({ KeyId: k.KeyId }));
    assert.equal(u.KeyLastUsage?.Operation, 'Decrypt');
    assert.equal(u.KeyLastUsage?.KmsRequestId, dec.$metadata.requestId);
    // A failed call changes nothing.
    await server.client.send(new DisableKeyCommand({ KeyId: k.KeyId }));
    await expectAwsError(
      server.client.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('x') })),
      'DisabledException',
    );
    const again = await server.client.send(new GetKeyLastUsageCommand({ KeyId: k.KeyId }));
    assert.equal(again.KeyLastUsage?.KmsRequestId, dec.$metadata.requestId);
    // The event id is the audit event of that request.
    await server.stop();
    const db = new Database(join(server.dataDir, 'audit.db'), { readonly: true });
    const row = db
      .prepare('SELECT body FROM audit_events WHERE event_id = ?')
      .get(u.KeyLastUsage?.CloudTrailEventId) as { body: string } | undefined;
    db.close();
    assert.ok(row !== undefined, 'the CloudTrailEventId names a recorded audit event');
    const event = JSON.parse(row.body) as { eventName: string; requestID: string };
    assert.equal(event.eventName, 'Decrypt');
    assert.equal(event.requestID, dec.$metadata.requestId);
    server = await startTestServer({ dataDir: server.dataDir });
    // Survives a restart (flushed on shutdown).
    const after = await server.client.send(new GetKeyLastUsageCommand({ KeyId: k.KeyId }));
    assert.equal(after.KeyLastUsage?.KmsRequestId, dec.$metadata.requestId);
  });

  it('ReEncrypt records both keys; aliases are refused', async () => {
    const a = await newKey();
    const b = await newKey();
    const enc = await server.client.send(
      new EncryptCommand({ KeyId: a.KeyId, Plaintext: Buffer.from('x') }),
    );
    const re = await server.client.send(
      new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: b.KeyId }),
    );
    for (const k of [a, b]) {
      const u = await server.client.send(new GetKeyLastUsageCommand({ KeyId: k.KeyId }));
      assert.equal(u.KeyLastUsage?.Operation, 'ReEncrypt');
      assert.equal(u.KeyLastUsage?.KmsRequestId, re.$metadata.requestId);
    }
    await expectAwsError(
      server.client.send(new GetKeyLastUsageCommand({ KeyId: 'alias/anything' })),
      'InvalidArnException',
    );
  });
});
