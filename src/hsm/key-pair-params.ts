/** How to generate an asymmetric key pair (Node's crypto.generateKeyPair parameters; ML-DSA: noble). */
export type KeyPairParams =
  | { type: 'rsa'; modulusBits: number }
  | { type: 'ec'; namedCurve: string }
  | { type: 'ed25519' }
  | { type: 'ml-dsa'; level: 44 | 65 | 87 };
