/**
 * The CloudTrail record format of an audit event: the types event.ts builds and
 * event-bounds.ts cuts to size. event.ts re-exports them.
 */

/** JSON value as stored in an event (no Buffers, no Dates). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

export interface CloudTrailUserIdentity {
  type: 'Root' | 'IAMUser' | 'AssumedRole' | 'Unknown';
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  userName?: string;
  sessionContext?: {
    sessionIssuer: {
      type: 'Role';
      principalId: string;
      arn: string;
      accountId: string;
      userName: string;
    };
  };
}

export interface CloudTrailResource {
  ARN: string;
  accountId: string;
  type: 'AWS::KMS::Key';
}

/** One audit event, in CloudTrail's record format (eventVersion 1.08). */
export interface CloudTrailEvent {
  eventVersion: '1.08';
  userIdentity: CloudTrailUserIdentity;
  eventTime: string;
  eventSource: 'kms.amazonaws.com';
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: JsonObject | null;
  responseElements: JsonObject | null;
  additionalEventData?: JsonObject;
  requestID: string;
  eventID: string;
  readOnly: boolean;
  resources?: CloudTrailResource[];
  eventType: 'AwsApiCall';
  managementEvent: true;
  recipientAccountId: string;
  sharedEventID?: string;
  eventCategory: 'Management';
  /** Present (true) when a field was cut to its size limit (event-bounds.ts). */
  omitted?: true;
}
