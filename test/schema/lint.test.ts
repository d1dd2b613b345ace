import { Kind } from 'graphql';
import { describe, expect, it } from 'vitest';
import { lintAuthorisation } from '../../schema/tooling/lint-auth.js';
import { lintSchema } from '../../schema/tooling/lint.js';
import { buildSubgraph } from '../../schema/tooling/sdl.js';
import { addField, directive, editMember, errorKeys, field, realSdl } from './helpers.js';

function lint(sdl: string): string[] {
  const subgraph = buildSubgraph(sdl);
  return errorKeys([...lintSchema(subgraph), ...lintAuthorisation(subgraph)]);
}

function withoutDirective(sdl: string, coordinate: string, name: string): string {
  return editMember(sdl, coordinate, (node) => ({
    ...node,
    directives: (node.directives ?? []).filter((applied) => applied.name.value !== name),
  }));
}

describe('schema lint', () => {
  it('finds nothing to report in the real schema', () => {
    expect(lint(realSdl())).toEqual([]);
  });

  describe('descriptions', () => {
    it('catches a field without a description', () => {
      const sdl = editMember(realSdl(), 'Account.name', (node) => ({ ...node, description: undefined }));

      expect(lint(sdl)).toEqual(['lint/description@Account.name']);
    });

    it('catches an argument and an enum value without a description', () => {
      let sdl = editMember(realSdl(), 'AccountType.LOAN', (node) => ({ ...node, description: undefined }));
      sdl = editMember(sdl, 'Query.account', (node) =>
        node.kind === Kind.FIELD_DEFINITION
          ? { ...node, arguments: (node.arguments ?? []).map((arg) => ({ ...arg, description: undefined })) }
          : node,
      );

      expect(lint(sdl).sort()).toEqual([
        'lint/description@AccountType.LOAN',
        'lint/description@Query.account(id:)',
      ]);
    });
  });

  describe('money', () => {
    it('catches a Float money field', () => {
      const sdl = addField(realSdl(), 'Payment', '"The fee." fee: Float');

      expect(lint(sdl)).toEqual(['lint/money@Payment.fee']);
    });

    it('catches money held in an Int', () => {
      const sdl = addField(realSdl(), 'Refund', '"Refunded pence." amountMinor: Int!');

      expect(lint(sdl)).toEqual(['lint/money@Refund.amountMinor']);
    });

    it('allows Float on ratios, rates and milliseconds, and Int on counts', () => {
      let sdl = addField(realSdl(), 'PartnerHealth', '"Share of calls retried, 0 to 1." retryRatio: Float');
      sdl = addField(sdl, 'AccountConnection', '"How many accounts in all." totalCount: Int!');

      expect(lint(sdl)).toEqual([]);
    });
  });

  describe('naming', () => {
    it('catches a lower-case enum value, a snake_case field and an input without the Input suffix', () => {
      let sdl = editMember(realSdl(), 'AccountType.LOAN', (node) => ({
        ...node,
        name: { ...node.name, value: 'loan' },
      }));
      sdl = addField(sdl, 'Transaction', '"Booked day." booked_on: DateTime');
      sdl = sdl
        .replace('input CreditorInput', 'input Beneficiary')
        .replace('creditor: CreditorInput', 'creditor: Beneficiary');

      expect(lint(sdl).sort()).toEqual([
        'lint/naming@AccountType.loan',
        'lint/naming@Beneficiary',
        'lint/naming@Transaction.booked_on',
      ]);
    });

    it('catches a mutation that does not return a payload', () => {
      const sdl = editMember(realSdl(), 'Mutation.replayWebhookEvent', () =>
        field(
          '"Replays." replayWebhookEvent("Id." id: ID!): WebhookEvent @requiresScopes(scopes: [["ops:write"]])',
        ),
      );

      expect(lint(sdl)).toEqual(
        expect.arrayContaining([
          'lint/naming@Mutation.replayWebhookEvent',
          'lint/naming@ReplayWebhookEventPayload',
        ]),
      );
    });
  });

  describe('lists', () => {
    it('catches an unbounded list of objects that is not a connection', () => {
      const sdl = addField(
        realSdl(),
        'Account',
        '"Every transaction ever." allTransactions: [Transaction!]!',
      );

      expect(lint(sdl)).toContain('lint/lists@Account.allTransactions');
    });

    it('catches a connection field without @listSize slicing on first', () => {
      const sdl = withoutDirective(realSdl(), 'Query.payments', 'listSize');

      expect(lint(sdl)).toEqual(['lint/lists@Query.payments']);
    });
  });

  describe('authorisation coverage', () => {
    it('catches a root field without @requiresScopes', () => {
      expect(lint(withoutDirective(realSdl(), 'Query.account', 'requiresScopes'))).toEqual([
        'lint/auth-coverage@Query.account',
      ]);
    });

    it('catches an entity field without a scope when the entity has none on the type', () => {
      const sdl = addField(realSdl(), 'Customer', '"Loyalty tier." tier: String');

      expect(lint(sdl)).toEqual(['lint/auth-coverage@Customer.tier']);
    });

    it('catches a nested field that reaches another scope without requiring it', () => {
      expect(lint(withoutDirective(realSdl(), 'Account.transactions', 'requiresScopes'))).toEqual([
        'lint/auth-crossing@Account.transactions',
      ]);
      expect(lint(withoutDirective(realSdl(), 'Payment.debtorAccount', 'requiresScopes'))).toEqual([
        'lint/auth-crossing@Payment.debtorAccount',
      ]);
    });

    it('catches a scope that DESIGN §5 does not define', () => {
      const sdl = editMember(realSdl(), 'Query.consents', (node) => ({
        ...node,
        directives: [
          ...(node.directives ?? []).filter((applied) => applied.name.value !== 'requiresScopes'),
          directive('@requiresScopes(scopes: [["consent:read"]])'),
        ],
      }));

      expect(lint(sdl)).toEqual(expect.arrayContaining(['lint/auth-scope@Query.consents']));
    });

    it('covers value types through the field that returns them', () => {
      const sdl = addField(realSdl(), 'Balance', '"Overdraft limit." overdraftLimit: Money');

      expect(lint(sdl)).toEqual([]);
    });
  });
});
