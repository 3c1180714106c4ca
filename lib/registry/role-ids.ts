import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/** The RoleId (AROA…) last seen for a registered role, when it was first seen, and in which event. */
export interface RoleIdSighting {
  roleId: string;
  seenAt: string;
  eventId: string;
}

/**
 * The RoleId each registered role had when roleguard last saw it, in the registry table (`pk` = `roleid`, `sk` = the
 * role ARN). IAM gives a role re-created under the same name a new RoleId: its sessions' `aws:userid` no longer
 * matches roleguard's denies, and its trust policy is new. Seeing a different id is how a re-created role shows.
 */
export interface RoleIdStore {
  /**
   * Note that the role had `roleId` at `at` (an assume's issue time, a CreateRole's event time). Returns the earlier
   * sighting when it held another id and `at` is not older than it (the role was re-created), else null. An event
   * older than the sighting on record (CloudTrail delivers out of order) changes nothing. One conditional write the
   * first time a process sees a role's id, none after that while the id stays the same.
   */
  note(roleArn: string, roleId: string, at: string, eventId: string): Promise<RoleIdSighting | null>;
  /** The sighting on record, or null. */
  get(roleArn: string): Promise<RoleIdSighting | null>;
}

/** The RoleId part of an assumed-role id (`AROA…:session`), or null. */
export function roleIdOf(assumedRoleId: string | null): string | null {
  const id = assumedRoleId?.split(':')[0] ?? '';
  return /^AROA[A-Z0-9]{12,124}$/.test(id) ? id : null;
}

/** Build the store over the registry table. */
export function createRoleIdStore(doc: DynamoDBDocumentClient, tableName: string): RoleIdStore {
  const key = (roleArn: string) => ({ pk: 'roleid', sk: roleArn });
  // What this process already knows to be on record: a benign assume costs nothing once its role's id is known.
  const known = new Map<string, string>();
  return {
    async note(roleArn, roleId, at, eventId) {
      if (known.get(roleArn) === roleId) return null;
      try {
        const out = await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(roleArn),
            UpdateExpression: 'SET roleId = :id, seenAt = :at, eventId = :event',
            ConditionExpression: 'attribute_not_exists(roleId) OR (roleId <> :id AND seenAt <= :at)',
            ExpressionAttributeValues: { ':id': roleId, ':at': at, ':event': eventId },
            ReturnValues: 'ALL_OLD',
          }),
        );
        known.set(roleArn, roleId);
        const old = out.Attributes;
        return old && typeof old.roleId === 'string' && old.roleId !== roleId
          ? { roleId: old.roleId, seenAt: String(old.seenAt), eventId: String(old.eventId) }
          : null;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // The same id is on record (or a newer one, and this event is late): nothing changed.
        known.set(roleArn, roleId);
        return null;
      }
    },
    async get(roleArn) {
      const item = (await doc.send(new GetCommand({ TableName: tableName, Key: key(roleArn), ConsistentRead: true })))
        .Item;
      return item && typeof item.roleId === 'string'
        ? { roleId: item.roleId, seenAt: String(item.seenAt), eventId: String(item.eventId) }
        : null;
    },
  };
}
