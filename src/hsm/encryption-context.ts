/**
 * Canonical encryption context: the AAD form of the EncryptionContext map.
 * Pairs sorted by the UTF-8 bytes of the key; each key and value is length-prefixed
 * (u32 big-endian) UTF-8; the whole is prefixed by the pair count (u32).
 * Order of the input never matters; any change of a key or value changes the bytes.
 */
export type EncryptionContext = Record<string, string>;

const EMPTY = Buffer.alloc(4);

export function canonicalEncryptionContext(ec: EncryptionContext | undefined): Buffer {
  if (ec === undefined) return EMPTY;
  const entries = Object.entries(ec);
  if (entries.length === 0) return EMPTY;
  const encoded = entries.map(
    ([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const,
  );
  encoded.sort((a, b) => Buffer.compare(a[0], b[0]));
  const parts: Buffer[] = [u32(encoded.length)];
  for (const [k, v] of encoded) parts.push(u32(k.length), k, u32(v.length), v);
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}
