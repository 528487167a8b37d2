/** AWS's enum order in validation messages: each override lists exactly the model's values. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENUM_ORDER_OVERRIDES } from '../../src/protocol/enum-order.js';
import { KmsError } from '../../src/errors/aws-errors.js';
import { KMS_MODEL } from '../../src/protocol/model/kms-model.js';
import { parseInput } from '../../src/protocol/validate/index.js';

function message(op: string, body: unknown): string {
  try {
    parseInput(op, body);
  } catch (err) {
    assert.ok(err instanceof KmsError);
    return err.message;
  }
  throw new Error('no validation error');
}

describe("AWS's enum order", () => {
  for (const [shape, order] of Object.entries(ENUM_ORDER_OVERRIDES)) {
    it(`${shape} lists the model's values, each once`, () => {
      // DataKeySpec's message lists the KMS key specs (AWS's answer), not its own two values.
      const source = shape === 'DataKeySpec' ? 'KeySpec' : shape;
      const model = KMS_MODEL.shapes[source]?.enum;
      assert.ok(model !== undefined, `${source} is an enum of the model`);
      assert.deepEqual([...order].sort(), [...model].sort());
    });
  }

  it('messages use it: MacAlgorithm, EncryptionAlgorithm, SigningAlgorithm, KeySpec', () => {
    assert.equal(
      message('GenerateMac', { KeyId: 'k', Message: 'AA==', MacAlgorithm: 'FOO' }),
      "1 validation error detected: Value 'FOO' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]",
    );
    assert.equal(
      message('Encrypt', { KeyId: 'k', Plaintext: 'AA==', EncryptionAlgorithm: 'FOO' }),
      "1 validation error detected: Value 'FOO' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE, SYMMETRIC_DEFAULT]",
    );
    assert.equal(
      message('Sign', { KeyId: 'k', Message: 'AA==', SigningAlgorithm: 'FOO' }),
      "1 validation error detected: Value 'FOO' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RSASSA_PSS_SHA_256, RSASSA_PSS_SHA_384, RSASSA_PSS_SHA_512, RSASSA_PKCS1_V1_5_SHA_256, RSASSA_PKCS1_V1_5_SHA_384, RSASSA_PKCS1_V1_5_SHA_512, ECDSA_SHA_256, ECDSA_SHA_384, ECDSA_SHA_512, ED25519_SHA_512, ED25519_PH_SHA_512, SM2DSA, ML_DSA_SHAKE_256]",
    );
    const keySpecs =
      '[RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, ECC_NIST_EDWARDS25519, SYMMETRIC_DEFAULT, HMAC_224, HMAC_256, HMAC_384, HMAC_512, SM2, ML_DSA_44, ML_DSA_65, ML_DSA_87]';
    assert.equal(
      message('CreateKey', { KeySpec: 'FOO' }),
      `1 validation error detected: Value 'FOO' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: ${keySpecs}`,
    );
    // GenerateDataKey: AES_256 / AES_128 only, but AWS lists the KMS key specs
    for (const value of ['FOO', 'RSA_2048']) {
      assert.equal(
        message('GenerateDataKey', { KeyId: 'k', KeySpec: value }),
        `1 validation error detected: Value '${value}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: ${keySpecs}`,
      );
    }
    assert.doesNotThrow(() => parseInput('GenerateDataKey', { KeyId: 'k', KeySpec: 'AES_128' }));
  });

  it('enums without a recorded order keep the model order (MessageType)', () => {
    assert.equal(
      message('Sign', {
        KeyId: 'k',
        Message: 'AA==',
        SigningAlgorithm: 'ECDSA_SHA_256',
        MessageType: 'X',
      }),
      "1 validation error detected: Value 'X' at 'messageType' failed to satisfy constraint: Member must satisfy enum value set: [RAW, DIGEST, EXTERNAL_MU]",
    );
  });
});
