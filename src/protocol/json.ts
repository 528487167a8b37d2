/**
 * AWS JSON 1.1 output encoding: blobs as standard base64 strings, timestamps as epoch
 * seconds (numbers), undefined members omitted.
 */
export function encodeOutput(output: unknown): string {
  return JSON.stringify(
    output ?? {},
    function (this: Record<string, unknown>, key, value: unknown) {
      const raw = this[key];
      if (raw instanceof Uint8Array)
        return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
      if (raw instanceof Date) return raw.getTime() / 1000;
      return value;
    },
  );
}
