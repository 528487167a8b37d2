// Encrypt and decrypt with keyhold through the AWS SDK for JavaScript v3.
//   npm install @aws-sdk/client-kms
//   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… node encrypt.mjs
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';

const kms = new KMSClient({
  endpoint: process.env.KEYHOLD_ENDPOINT_URL ?? 'http://127.0.0.1:8420',
  region: process.env.AWS_REGION ?? 'us-east-1',
});
const { CiphertextBlob } = await kms.send(
  new EncryptCommand({ KeyId: 'alias/app', Plaintext: Buffer.from('hello, keyhold') }),
);
const { Plaintext, KeyId } = await kms.send(new DecryptCommand({ CiphertextBlob }));
console.log(`${Buffer.from(Plaintext).toString()} (decrypted with ${KeyId})`);
