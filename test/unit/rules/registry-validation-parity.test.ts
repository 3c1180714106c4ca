import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { REGISTRY_FIELDS, type RegistryError, validateRegistry } from '../../../lib/registry/validate.js';
import { ZOD_REGISTRY_FIELDS, zodValidateRegistry } from '../../helpers/registry-zod-oracle.js';

// The registry is validated by hand-written checks (lib/registry/check.ts), so that the functions, which validate the
// registry they read from DynamoDB, bundle no schema library. Bad input must be refused with the same reasons as
// before: the zod schemas the registry used to be validated with are the oracle, on generated documents close to
// valid ones (each field valid, or of another type, or out of its range, or absent; unknown fields added).

function outcome(validate: (document: unknown, source: string) => unknown, document: unknown) {
  try {
    return { registry: validate(document, 'doc') };
  } catch (error) {
    const problems = (error as { problems?: unknown }).problems;
    if (!Array.isArray(problems)) throw error;
    return { problems };
  }
}

const odd = fc.constantFrom<unknown>(
  undefined,
  null,
  true,
  0,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 60,
  -(2 ** 60),
  '',
  '   ',
  'x',
  'none',
  [],
  {},
  new Set(['999988887777']),
  new Date(0),
  Object.create(null),
);
const other = fc.oneof(
  odd,
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.string(), { maxLength: 2 }),
);
/** Mostly a good value, sometimes anything else. */
const mostly = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: other });
const someOf = <T>(values: T[]) => fc.constantFrom(...values);

const externalId = someOf(['ec-7Hq2vN9xK4pL8mR3', 'abc', 'x', 'has space', 'a'.repeat(1224), 'a'.repeat(1225), '']);
const account = someOf(['999988887777', '111122223333', '9999', ' 999988887777']);
const roleArn = someOf([
  'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
  'arn:aws:iam::111122223333:role/Other',
  'arn:aws:iam::1111:role/Short',
  'arn:aws:sts::111122223333:assumed-role/X/y',
]);
const number = fc.oneof(
  someOf([0, 1, 7, 24, 90, 365, 366, 720, 721, 3650, 3651, -5.5, 0.5, 2 ** 60]),
  fc.integer(),
  fc.double(),
);
const slackUser = someOf(['U012ABCDEF', 'W0AB', 'u012', 'U1', 'x']);
/** An object of these fields, each present or not, and now and then a field nobody knows. */
const object = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc
    .tuple(
      fc.record(fields, { requiredKeys: [] }),
      fc.oneof(
        { weight: 4, arbitrary: fc.constant({}) },
        { weight: 1, arbitrary: fc.dictionary(someOf(['colour', 'x', '__proto__', 'roles']), other, { maxKeys: 2 }) },
      ),
    )
    .map(([known, unknown]) => {
      const out: Record<string, unknown> = { ...known };
      for (const [k, v] of Object.entries(unknown))
        if (!Object.hasOwn(fields, k))
          Object.defineProperty(out, k, { value: v, enumerable: true, configurable: true, writable: true });
      return out;
    });

const externalIds = fc.oneof(
  fc.constant('none'),
  object({
    current: mostly(fc.oneof(externalId, fc.constant(null))),
    pending: mostly(fc.oneof(externalId, fc.constant(null))),
    retired: mostly(fc.array(mostly(externalId), { maxLength: 3 })),
  }),
  other,
);
const rotation = fc.oneof(
  fc.constant(null),
  object({
    everyDays: mostly(number),
    graceDays: mostly(number),
    notifyTopicArn: mostly(someOf(['arn:aws:sns:us-east-1:111122223333:vendor', 'arn:aws:sns:us-east-1:1:x', 'topic'])),
    revokeOldSessions: mostly(fc.boolean()),
    quietHours: mostly(number),
  }),
  other,
);
const role = fc.oneof(
  {
    weight: 6,
    arbitrary: object({
      roleArn: mostly(roleArn),
      vendor: mostly(
        someOf([
          'Example Corp',
          '  padded  ',
          '',
          '   ',
          'v'.repeat(128),
          'v'.repeat(129),
          ' '.repeat(3) + 'v'.repeat(128),
        ]),
      ),
      trustedAccounts: mostly(fc.array(mostly(account), { maxLength: 3 })),
      externalIds,
      response: mostly(someOf(['revoke', 'alert', 'block'])),
      dryRun: mostly(fc.boolean()),
      rotation,
      approvers: mostly(fc.array(mostly(slackUser), { maxLength: 2 })),
    }),
  },
  { weight: 1, arbitrary: other },
);
const arnPattern = someOf([
  'arn:aws:iam::*:role/roleguard-*',
  'arn:aws:iam::111122223333:role/x',
  'arn:aws:s3:::b',
  'role/x',
]);
const registry = fc.oneof(
  {
    weight: 8,
    arbitrary: object({
      serviceRoleArns: mostly(fc.array(mostly(arnPattern), { maxLength: 2 })),
      protectedRoleArns: mostly(fc.array(mostly(arnPattern), { maxLength: 2 })),
      roles: mostly(fc.array(role, { maxLength: 3 })),
      approvers: mostly(fc.array(mostly(slackUser), { maxLength: 2 })),
    }),
  },
  { weight: 1, arbitrary: other },
);

describe('registry validation without a schema library', () => {
  it('accepts the same fields as the zod schemas did', () => {
    expect(REGISTRY_FIELDS).toEqual(ZOD_REGISTRY_FIELDS);
  });

  it('gives the same registry, or the same problems in the same order, as the zod schemas on any document', () => {
    fc.assert(
      fc.property(registry, (document) => {
        expect(outcome(validateRegistry, document)).toEqual(outcome(zodValidateRegistry, document));
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses with the messages the registry gave before', () => {
    const problems = (document: unknown) => {
      try {
        validateRegistry(document, 'doc');
      } catch (error) {
        return (error as RegistryError).problems;
      }
      return [];
    };
    expect(
      problems({
        roles: [
          {
            roleArn: 'arn:aws:iam::111122223333:role/X',
            vendor: '   ',
            trustedAccounts: ['999988887777', 7],
            externalIds: { current: 'has space' },
            rotation: { everyDays: 0.5, graceDays: 400, quietHours: Number.NaN },
            response: 'block',
            colour: 'blue',
          },
        ],
        extra: 1,
        more: 2,
      }),
    ).toEqual(['(document): Unrecognized keys: "extra", "more"']);
    expect(
      problems({
        roles: [
          {
            roleArn: 'arn:aws:iam::111122223333:role/X',
            vendor: '   ',
            trustedAccounts: ['999988887777', 7],
            externalIds: { current: 'has space' },
            rotation: { everyDays: 0.5, graceDays: 400, quietHours: Number.NaN },
            response: 'block',
            colour: 'blue',
          },
          {
            roleArn: 'arn:aws:iam::111122223333:role/Y',
            vendor: 'Y',
            trustedAccounts: [],
            externalIds: { current: 5 },
          },
        ],
      }),
    ).toEqual([
      'roles[0] (arn:aws:iam::111122223333:role/X): vendor: must not be empty',
      'roles[0] (arn:aws:iam::111122223333:role/X): trustedAccounts[1]: Invalid input: expected string, received number',
      'roles[0] (arn:aws:iam::111122223333:role/X): externalIds.current: not a valid external ID (2–1224 characters of [A-Za-z0-9+=,.@:/_-])',
      'roles[0] (arn:aws:iam::111122223333:role/X): response: Invalid option: expected one of "revoke"|"alert"',
      'roles[0] (arn:aws:iam::111122223333:role/X): rotation.everyDays: Invalid input: expected int, received number',
      'roles[0] (arn:aws:iam::111122223333:role/X): rotation.graceDays: Too big: expected number to be <=365',
      'roles[0] (arn:aws:iam::111122223333:role/X): rotation.quietHours: Invalid input: expected number, received NaN',
      'roles[0] (arn:aws:iam::111122223333:role/X): (role): Unrecognized key: "colour"',
      'roles[1] (arn:aws:iam::111122223333:role/Y): trustedAccounts: must list at least one account',
      'roles[1] (arn:aws:iam::111122223333:role/Y): externalIds: must be none (watch mode) or { current, pending, retired }',
    ]);
  });
});
