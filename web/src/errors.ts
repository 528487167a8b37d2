/** AWS error names → what they mean for the person at the console, and what to do. */

const PLAIN: Readonly<Record<string, string>> = {
  AccessDeniedException:
    'You are not allowed to do this. Neither the key policy, your IAM policies nor a grant allows it (or one of them denies it). An account admin can find out why under "Why denied?".',
  AccessDenied:
    'Only the root user of the account can use this part of the console (the keyhold admin API).',
  UnrecognizedClientException:
    'keyhold does not know this access key ID. Check it, or create an access key with `keyhold admin`.',
  InvalidClientTokenId:
    'keyhold does not know this access key ID. Check it, or create an access key with `keyhold admin`.',
  InvalidSignatureException:
    'The signature did not match: the secret access key is probably wrong, or the Region differs from the one you signed for.',
  SignatureDoesNotMatch: 'The signature did not match: the secret access key is probably wrong.',
  ExpiredTokenException:
    'Your temporary credentials have expired. Sign out and sign in again (or assume the role again).',
  ExpiredToken: 'Your temporary credentials have expired. Sign in again.',
  NotFoundException: 'That key, alias or grant does not exist (in this account and Region).',
  NoSuchEntity: 'That key or identity does not exist in your account.',
  KMSInvalidStateException:
    'The key is not in a state that allows this (for example it is disabled or pending deletion).',
  DisabledException: 'The key is disabled. Enable it first.',
  MalformedPolicyDocumentException:
    'The policy is not valid: check its syntax, principals, actions and conditions, and that it still lets you manage the key.',
  AlreadyExistsException: 'Something with that name already exists (for example the alias).',
  ValidationException: 'A value in the request is not valid.',
  ValidationError: 'A value in the request is not valid.',
  InvalidAliasNameException:
    'Alias names start with "alias/", use letters, digits, / _ -, and may not start with "alias/aws/".',
  LimitExceededException: 'A keyhold limit was reached (keys, aliases, grants or tags).',
  TagException: 'A tag key or value is not valid (or tries to use the reserved "aws:" prefix).',
  UnsupportedOperationException:
    'This keyhold server does not support that operation (yet), or not for this kind of key.',
  ThrottlingException: 'Too many requests right now. Wait a moment and try again.',
  KMSInternalException: 'keyhold had an internal error. The server log has the request id.',
  InternalFailure: 'keyhold had an internal error. The server log has the request id.',
  DependencyTimeoutException: 'keyhold could not reach a service it depends on in time.',
  InvalidArnException: 'That is not a valid ARN.',
  InvalidMarkerException: 'The list changed while paging. Reload.',
  CustomKeyStoreNotFoundException: 'That custom key store does not exist.',
  CustomKeyStoreInvalidStateException:
    'The custom key store is not in a state that allows this (connect it, or disconnect it first).',
  CustomKeyStoreHasCMKsException: 'Delete or move the keys in the key store first.',
  TypeError: 'The console could not reach keyhold. Is the server running?',
};

export interface Explained {
  name: string;
  plain: string;
  detail: string;
}

/** Name, plain-words meaning and server message of any error the console catches. */
export function explainError(err: unknown): Explained {
  const e = err as { name?: unknown; message?: unknown; Code?: unknown };
  const name = typeof e?.name === 'string' && e.name !== 'Error' ? e.name : 'Error';
  const detail = typeof e?.message === 'string' ? e.message : String(err);
  return { name, plain: PLAIN[name] ?? 'The request failed.', detail };
}
