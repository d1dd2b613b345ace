import { describe, expect, it } from 'vitest';
import { formatReport } from '../../schema/tooling/check.js';
import { composeWithNeighbours } from '../../schema/tooling/compose.js';
import { formatProblem } from '../../schema/tooling/problems.js';
import { check, editMember, errorKeys, field, realFiles, realSdl } from './helpers.js';

function neighbour(name: string): string {
  const found = realFiles().neighbours.find((subgraph) => subgraph.name === name);
  if (!found) throw new Error(`no neighbour fixture ${name}`);
  return found.sdl;
}

describe('composition with the neighbour subgraphs', () => {
  it('composes Tributary with the customers and orders fixtures', () => {
    const outcome = composeWithNeighbours([{ name: 'tributary', sdl: realSdl() }, ...realFiles().neighbours]);

    expect(errorKeys(outcome.problems)).toEqual([]);
    expect(outcome.supergraphSdl).toContain('join__type(graph: CUSTOMERS, key: "id")');
    expect(outcome.supergraphSdl).toContain('type Order');
  });

  it('fails readably when a neighbour resolves a shared value type it did not mark @shareable', async () => {
    const orders = neighbour('orders').replace('type Money @shareable {', 'type Money {');
    const customers = { name: 'customers', sdl: neighbour('customers') };

    const report = await check({ sdl: realSdl(), neighbours: [customers, { name: 'orders', sdl: orders }] });

    expect(report.ok).toBe(false);
    expect(errorKeys(report.problems)).toContain('composition/INVALID_FIELD_SHARING@Money.amount');
    expect(formatReport(report)).toMatch(
      /✖ Money\.amount: Non-shareable field "Money\.amount" is resolved from multiple subgraphs/,
    );
  });

  it('fails when a Tributary change contradicts a neighbour (a shared field changes type)', async () => {
    const sdl = editMember(realSdl(), 'Money.amount', () => field('"Amount." amount: String!'));

    const report = await check({ sdl });

    expect(report.ok).toBe(false);
    const mismatch = report.problems.find((problem) => problem.rule === 'FIELD_TYPE_MISMATCH');
    expect(mismatch?.coordinate).toBe('Money.amount');
    expect(formatProblem(mismatch!)).toContain('[composition/FIELD_TYPE_MISMATCH]');
  });

  it('fails when a neighbour also defines a field Tributary contributes, with another type', async () => {
    const customers = neighbour('customers').replace(
      'email: String!',
      'email: String!\n  accounts: [String!]!',
    );

    const report = await check({ sdl: realSdl(), neighbours: [{ name: 'customers', sdl: customers }] });

    expect(report.ok).toBe(false);
    expect(
      errorKeys(report.problems).some(
        (key) => key.startsWith('composition/') && key.endsWith('Customer.accounts'),
      ),
    ).toBe(true);
  });

  it('reports a neighbour that does not parse as a syntax error of that subgraph', () => {
    const outcome = composeWithNeighbours([
      { name: 'tributary', sdl: realSdl() },
      { name: 'customers', sdl: 'type Customer @key(fields: "id") { id: ID! ' },
    ]);

    expect(errorKeys(outcome.problems)).toEqual(['composition/SYNTAX@customers']);
    expect(outcome.supergraphSdl).toBeNull();
  });

  it('reports composition hints as warnings that do not fail the check', async () => {
    const customers = neighbour('customers').replace(
      /"A customer, owned by[^"]*"/,
      '"Someone who banks with us."',
    );

    const report = await check({ sdl: realSdl(), neighbours: [{ name: 'customers', sdl: customers }] });

    expect(report.ok).toBe(true);
    expect(report.problems).toContainEqual(
      expect.objectContaining({
        severity: 'warning',
        rule: 'INCONSISTENT_DESCRIPTION',
        coordinate: 'Customer',
      }),
    );
  });
});
