import { describe, expect, it } from '@jest/globals';
import { arnMatches, RegistryError, registryToDocument, validateRegistry } from '../../../lib/registry/index.js';
import { parseRegistryText } from '../../../lib/registry/text.js';

const role = (extra = '') => `
  - roleArn: arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "ec-7Hq2vN9xK4pL8mR3" }${extra}`;

function problems(text: string): string[] {
  try {
    parseRegistryText(text, 'registry.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message.startsWith('registry.yaml: invalid registry')).toBe(true);
    return (error as RegistryError).problems;
  }
  throw new Error('expected the registry to be refused');
}

describe('registry validation (contract §1)', () => {
  it('applies the defaults and reads JSON as well as YAML', () => {
    const yaml = parseRegistryText(`roles:${role()}`, 'r.yaml');
    expect(yaml).toEqual({
      serviceRoleArns: [],
      protectedRoleArns: [],
      roles: [
        expect.objectContaining({
          response: 'alert',
          rotation: null,
          externalIds: { current: 'ec-7Hq2vN9xK4pL8mR3', pending: null, retired: [] },
        }),
      ],
    });
    expect(parseRegistryText(JSON.stringify(yaml), 'r.json')).toEqual(yaml);
  });

  it("reads a role's dryRun (an extension of contract §1), and refuses anything but true or false", () => {
    expect(
      parseRegistryText(`roles:${role('\n    response: revoke\n    dryRun: true')}`, 'r.yaml').roles[0],
    ).toMatchObject({ response: 'revoke', dryRun: true });
    expect(parseRegistryText(`roles:${role()}`, 'r.yaml').roles[0]!.dryRun).toBeUndefined();
    expect(problems(`roles:${role('\n    dryRun: "yes"')}`)).toEqual([
      expect.stringMatching(/^roles\[0\] \(arn:aws:iam::111122223333:role\/vendors\/ExampleCorpAudit\): dryRun: /),
    ]);
  });

  it('names the file, the role and the field of every problem at once', () => {
    const found = problems(`roles:
  - roleArn: arn:aws:iam::1111:role/Short
    vendor: A
    trustedAccounts: ["99998888777"]
    externalIds: { current: "x" }
    colour: blue
  - roleArn: arn:aws:iam::111122223333:role/Fine
    vendor: B
    trustedAccounts: ["999988887777"]
    externalIds: { current: "has space in it" }
    response: block
`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^roles\[0\] \(arn:aws:iam::1111:role\/Short\): roleArn: not a valid IAM role ARN/),
        expect.stringMatching(/^roles\[0\] .*: trustedAccounts\[0\]: not a 12-digit account id/),
        expect.stringMatching(/^roles\[0\] .*: externalIds\.current: not a valid external ID/),
        expect.stringMatching(/^roles\[0\] .*colour/),
        expect.stringMatching(
          /^roles\[1\] \(arn:aws:iam::111122223333:role\/Fine\): externalIds\.current: not a valid external ID/,
        ),
        expect.stringMatching(/^roles\[1\] .*: response: /),
      ]),
    );
  });

  it('refuses the same role twice (whatever the path), pending equal to current, a retired ID still in use, and an ID over 1224 characters', () => {
    expect(
      problems(
        `roles:${role()}\n  - roleArn: arn:aws:iam::111122223333:role/ExampleCorpAudit\n    vendor: X\n    trustedAccounts: ["999988887777"]\n    externalIds: { current: "abc" }`,
      ),
    ).toEqual([expect.stringMatching(/^roles\[1\] .*roleArn: the same role as roles\[0\]/)]);
    expect(
      problems(
        `roles:${role().replace('current: "ec-7Hq2vN9xK4pL8mR3" }', 'current: "ec-7Hq2vN9xK4pL8mR3", pending: "ec-7Hq2vN9xK4pL8mR3" }')}`,
      ),
    ).toEqual([expect.stringMatching(/externalIds\.pending: the same as current/)]);
    expect(
      problems(
        `roles:${role().replace('current: "ec-7Hq2vN9xK4pL8mR3" }', 'current: "ec-7Hq2vN9xK4pL8mR3", retired: ["ec-7Hq2vN9xK4pL8mR3"] }')}`,
      ),
    ).toEqual([expect.stringMatching(/externalIds\.retired: also listed as current or pending/)]);
    expect(problems(`roles:${role().replace('ec-7Hq2vN9xK4pL8mR3', 'a'.repeat(1225))}`)).toEqual([
      expect.stringMatching(/externalIds\.current: not a valid external ID/),
    ]);
    expect(
      parseRegistryText(`roles:${role().replace('ec-7Hq2vN9xK4pL8mR3', 'a'.repeat(1224))}`, 'r').roles,
    ).toHaveLength(1);
    expect(problems('roles: [unclosed')).toEqual([expect.stringMatching(/^not valid YAML or JSON/)]);
    expect(problems('rolez: []')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\(document\): Unrecognized key: "rolez"/),
        expect.stringMatching(/^roles: /),
      ]),
    );
  });

  it('reads externalIds: none (watch mode), refuses it with response revoke or a rotation, and writes it back as none', () => {
    const watch = (extra = '') => `roles:
  - roleArn: arn:aws:iam::111122223333:role/LegacyBackupVendor
    vendor: Legacy
    trustedAccounts: ["777788889999"]
    externalIds: none${extra}`;
    const registry = parseRegistryText(watch(), 'w.yaml');
    expect(registry.roles[0]).toEqual({
      roleArn: 'arn:aws:iam::111122223333:role/LegacyBackupVendor',
      vendor: 'Legacy',
      trustedAccounts: ['777788889999'],
      externalIds: { current: null, pending: null, retired: [] },
      noExternalId: true,
      response: 'alert',
      rotation: null,
    });
    expect(registryToDocument(registry).roles).toEqual([expect.objectContaining({ externalIds: 'none' })]);
    expect(validateRegistry(registryToDocument(registry), 'round trip')).toEqual(registry);
    expect(problems(watch('\n    response: revoke\n    rotation: { everyDays: 90, graceDays: 7 }'))).toEqual([
      'roles[0] (arn:aws:iam::111122223333:role/LegacyBackupVendor): response: revoke cannot be used with externalIds: none (watch mode): every assume from another account is a finding there, so every vendor session would be revoked; use alert',
      'roles[0] (arn:aws:iam::111122223333:role/LegacyBackupVendor): rotation: a role with externalIds: none has no external ID to rotate',
    ]);
    // Any other string is still an error naming the field; an object without IDs still needs one.
    expect(problems(watch().replace('externalIds: none', 'externalIds: nothing'))).toEqual([
      'roles[0] (arn:aws:iam::111122223333:role/LegacyBackupVendor): externalIds: must be none (watch mode) or { current, pending, retired }',
    ]);
    expect(problems(watch().replace('externalIds: none', 'externalIds: { current: null }'))).toEqual([
      'roles[0] (arn:aws:iam::111122223333:role/LegacyBackupVendor): externalIds.current: required unless a pending ID is being introduced',
    ]);
  });

  it('matches ARN patterns with * as a wildcard and everything else literally', () => {
    expect(
      arnMatches('arn:aws:iam::111122223333:role/roleguard-*', 'arn:aws:iam::111122223333:role/roleguard-prod-rotate'),
    ).toBe(true);
    expect(arnMatches('arn:aws:iam::111122223333:role/roleguard-*', 'arn:aws:iam::111122223333:role/other')).toBe(
      false,
    );
    expect(arnMatches('arn:aws:iam::111122223333:role/a.b', 'arn:aws:iam::111122223333:role/aXb')).toBe(false);
    expect(arnMatches('arn:aws:iam::*:role/roleguard-*', 'arn:aws:iam::444455556666:role/roleguard-x')).toBe(true);
  });
});
