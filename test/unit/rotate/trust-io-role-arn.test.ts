import { GetRoleCommand, IAMClient, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { iamTrustPolicyIo, WrongRoleError } from '../../../lib/rotate/live.js';

// IAM acts by role name in the account of the credentials: the trust policy of another account's role must never be
// read or written as the same-named role of this one.
const iam = mockClient(IAMClient);
const ASKED = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const answer = (arn: string) => ({
  Role: {
    RoleName: 'ExampleCorpAudit',
    RoleId: 'AROAX',
    Arn: arn,
    Path: '/',
    CreateDate: new Date(),
    AssumeRolePolicyDocument: '%7B%7D',
  },
});
beforeEach(() => {
  iam.reset();
  iam.on(UpdateAssumeRolePolicyCommand).resolves({});
});
afterAll(() => iam.restore());

describe('iamTrustPolicyIo and the Role.Arn IAM returns', () => {
  it('reads and writes the role IAM confirms is the one asked for (a path is not identity)', async () => {
    iam.on(GetRoleCommand).resolves(answer('arn:aws:iam::111122223333:role/ExampleCorpAudit'));
    const io = iamTrustPolicyIo(new IAMClient({ region: 'us-east-1' }));
    expect(await io.read(ASKED)).toBe('%7B%7D');
    await io.write(ASKED, '{}');
    expect(iam.commandCalls(UpdateAssumeRolePolicyCommand)).toHaveLength(1);
    expect(iam.commandCalls(GetRoleCommand)).toHaveLength(1);
  });

  it("refuses to read or write when IAM answers with another account's role", async () => {
    iam.on(GetRoleCommand).resolves(answer('arn:aws:iam::444455556666:role/vendors/ExampleCorpAudit'));
    const io = iamTrustPolicyIo(new IAMClient({ region: 'us-east-1' }));
    await expect(io.read(ASKED)).rejects.toThrow(WrongRoleError);
    await expect(io.read(ASKED)).rejects.toThrow('the credentials are for account 444455556666');
    await expect(io.write(ASKED, '{}')).rejects.toThrow(WrongRoleError);
    expect(iam.commandCalls(UpdateAssumeRolePolicyCommand)).toHaveLength(0);
  });
});
