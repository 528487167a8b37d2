/** The request and Authorization header shapes that sigv4.ts and sigv4-signature.ts share. */
export interface SignedRequest {
  method: string;
  host: string;
  path: string;
  /** Lower-cased header names (as Node gives them). */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  signingDate: Date;
}
