import { describe, expect, it } from '@jest/globals';
import { diffRegistries, formatRegistryDiff, registryDiffJson } from '../../../lib/registry/diff.js';
import type { RegisteredRole, Registry } from '../../../lib/registry/index.js';

const role = (over: Partial<RegisteredRole> = {}): RegisteredRole => ({
  roleArn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
  vendor: 'Example Corp',
  trustedAccounts: ['999988887777'],
  externalIds: { current: 'ec-7Hq2vN9xK4pL8mR3', pending: null, retired: [] },
  response: 'revoke',
  rotation: null,
  ...over,
});
const registry = (over: Partial<Registry> = {}): Registry => ({
  serviceRoleArns: [],
  protectedRoleArns: [],
  roles: [role()],
  ...over,
});

describe('diffRegistries', () => {
  it('shows a change to the global approvers (who may act on every finding from Slack)', () => {
    for (const [before, after] of [
      [undefined, ['U0123ABCD']],
      [['U0123ABCD'], undefined],
      [['U0123ABCD'], ['U0123ABCD', 'U0456EFGH']],
    ] as const) {
      const diff = diffRegistries(
        registry(before ? { approvers: [...before] } : {}),
        registry(after ? { approvers: [...after] } : {}),
      );
      expect(diff.settings).toEqual(['approvers']);
      expect(formatRegistryDiff(diff)).toEqual([
        'registry changes (0 added, 0 removed, 0 changed, 1 unchanged):',
        '  ~ approvers',
      ]);
      expect(registryDiffJson(diff).settings).toEqual(['approvers']);
    }
    // The same people in another order is no change.
    expect(
      diffRegistries(
        registry({ approvers: ['U0456EFGH', 'U0123ABCD'] }),
        registry({ approvers: ['U0123ABCD', 'U0456EFGH'] }),
      ).settings,
    ).toEqual([]);
  });

  it("names a change to a role's approvers as a changed field", () => {
    const diff = diffRegistries(registry(), registry({ roles: [role({ approvers: ['U0123ABCD'] })] }));
    expect(diff.changed.map((c) => c.fields)).toEqual([['approvers']]);
  });
});
