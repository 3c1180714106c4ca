/**
 * The columns of AWS's documented Athena table for CloudTrail logs ("Create the table for CloudTrail logs in Athena
 * using partition projection"), described once, so the DDL, the row reader and the tests agree. Athena lower-cases
 * every column and struct-field name; `name` is the field as CloudTrail writes it.
 */
export type ColumnType =
  | { kind: 'string' }
  /** A nested object that the table keeps as its JSON text (requestParameters, responseElements, …). */
  | { kind: 'json' }
  | { kind: 'map' }
  | { kind: 'struct'; fields: Column[] }
  | { kind: 'array'; of: Column[] };

export interface Column {
  name: string;
  type: ColumnType;
}

const string = (name: string): Column => ({ name, type: { kind: 'string' } });
const json = (name: string): Column => ({ name, type: { kind: 'json' } });
const struct = (name: string, fields: Column[]): Column => ({ name, type: { kind: 'struct', fields } });

const SESSION_ISSUER = ['type', 'principalId', 'arn', 'accountId', 'userName'].map(string);

/**
 * `identityProvider` is not in AWS's documented table; `roleguard athena setup` adds it, because it names the
 * account of a SAML or web-identity caller. Rows of a table without it still read (see `athenaRowToRecord`).
 */
export const USER_IDENTITY: Column = struct('userIdentity', [
  ...['type', 'principalId', 'arn', 'accountId', 'invokedBy', 'accessKeyId', 'userName'].map(string),
  struct('onBehalfOf', [string('userId'), string('identityStoreArn')]),
  struct('sessionContext', [
    struct('attributes', [string('mfaAuthenticated'), string('creationDate')]),
    struct('sessionIssuer', SESSION_ISSUER),
    string('ec2RoleDelivery'),
    struct('webIdFederationData', [string('federatedProvider'), { name: 'attributes', type: { kind: 'map' } }]),
  ]),
  string('identityProvider'),
]);

/** Every column, in the documented order. `readOnly` is a string column ("true"/"false"). */
export const CLOUDTRAIL_COLUMNS: Column[] = [
  string('eventVersion'),
  USER_IDENTITY,
  ...['eventTime', 'eventSource', 'eventName', 'awsRegion', 'sourceIPAddress', 'userAgent'].map(string),
  string('errorCode'),
  string('errorMessage'),
  json('requestParameters'),
  json('responseElements'),
  json('additionalEventData'),
  string('requestID'),
  string('eventID'),
  string('readOnly'),
  { name: 'resources', type: { kind: 'array', of: [string('ARN'), string('accountId'), string('type')] } },
  string('eventType'),
  string('apiVersion'),
  string('recipientAccountId'),
  json('serviceEventDetails'),
  string('sharedEventID'),
  string('vpcEndpointId'),
  string('vpcEndpointAccountId'),
  string('eventCategory'),
  struct('addendum', ['reason', 'updatedFields', 'originalRequestID', 'originalEventID'].map(string)),
  string('sessionCredentialFromConsole'),
  json('edgeDeviceDetails'),
  struct('tlsDetails', ['tlsVersion', 'cipherSuite', 'clientProvidedHostHeader'].map(string)),
];
