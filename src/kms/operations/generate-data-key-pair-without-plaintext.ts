import type {
  GenerateDataKeyPairWithoutPlaintextRequest,
  GenerateDataKeyPairWithoutPlaintextResponse,
} from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { generateDataKeyPair } from './generate-data-key-pair.js';

export default operation<
  GenerateDataKeyPairWithoutPlaintextRequest,
  GenerateDataKeyPairWithoutPlaintextResponse
>({
  name: 'GenerateDataKeyPairWithoutPlaintext',
  action: 'kms:GenerateDataKeyPairWithoutPlaintext',
  readOnly: true,
  async handler(ctx, input) {
    const out = await generateDataKeyPair(
      ctx,
      input,
      'GenerateDataKeyPairWithoutPlaintext',
      'kms:GenerateDataKeyPairWithoutPlaintext',
    );
    // The private key is not returned: zero it now.
    out.privateKeyPlaintext.fill(0);
    return {
      PrivateKeyCiphertextBlob: out.privateKeyCiphertextBlob,
      PublicKey: out.publicKey,
      KeyId: out.keyArn,
      KeyPairSpec: input.KeyPairSpec,
      KeyMaterialId: out.versionId,
    };
  },
});
