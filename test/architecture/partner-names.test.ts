/**
 * Outside its own folders a partner is named only in the module list (docs: DESIGN.md §4). This test
 * reads product code outside datasources/<partner>/ and datasources/modules.ts for the partners' names,
 * in code only: comments are stripped first (TypeScript's own comment ranges for .ts, `--` and `/* *\/`
 * for SQL); strings are code, so `'stripe'` or `PLAID_SECRET` count. The names come from the folders
 * under datasources/ that hold an index.ts, so a new partner is covered without touching this file.
 *
 * Not read: resolvers/__generated__/ — it is the SDL compiled by `npm run codegen`, and the SDL's
 * `Provider` enum is the other place DESIGN.md §4 lets name the partners. sandboxes/ is not product code.
 */
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  FLOORS,
  MODULE_LIST,
  lineAt,
  listFiles,
  partnerFolderOf,
  partnerNames,
  readSources,
} from './layout.js';

/** Replaces [start, end) ranges of `text` by spaces, keeping line breaks (so lines keep their numbers). */
function blank(text: string, ranges: Iterable<[number, number]>): string {
  let out = '';
  let at = 0;
  for (const [start, end] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (start < at) continue;
    out += text.slice(at, start) + text.slice(start, end).replace(/[^\n]/g, ' ');
    at = end;
  }
  return out + text.slice(at);
}

/** TypeScript source without its comments: every comment range TypeScript attaches to a token. */
function stripTsComments(text: string, fileName = 'file.ts'): string {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const ranges = new Map<number, number>();
  const visit = (node: ts.Node) => {
    for (const range of ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [])
      ranges.set(range.pos, range.end);
    for (const range of ts.getTrailingCommentRanges(text, node.getEnd()) ?? [])
      ranges.set(range.pos, range.end);
    for (const child of node.getChildren(source)) visit(child);
  };
  visit(source);
  return blank(text, ranges);
}

/** SQL without its comments: `-- ...` to the end of the line and `/* ... *\/`, outside quotes. */
function stripSqlComments(text: string): string {
  const ranges: [number, number][] = [];
  let i = 0;
  while (i < text.length) {
    const two = text.slice(i, i + 2);
    if (text[i] === "'" || text[i] === '"') {
      const quote = text[i];
      i++;
      while (i < text.length) {
        if (text[i] === quote && text[i + 1] === quote) i += 2;
        else if (text[i] === quote) break;
        else i++;
      }
      i++;
    } else if (two === '--') {
      const end = text.indexOf('\n', i);
      ranges.push([i, end === -1 ? text.length : end]);
      i = end === -1 ? text.length : end;
    } else if (two === '/*') {
      const end = text.indexOf('*/', i + 2);
      ranges.push([i, end === -1 ? text.length : end + 2]);
      i = end === -1 ? text.length : end + 2;
    } else {
      i++;
    }
  }
  return blank(text, ranges);
}

/**
 * A word-ish, case-insensitive match of the partner names: `stripe`, `Stripe`, `STRIPE_KEY`, `isStripe`,
 * `stripeClient`, `openBanking`, `OPEN_BANKING`, `open-banking`, `Open Banking` — but not `stripes`,
 * `striped` or `unstriped`. A name starts at a non-letter or at a camelCase hump (a lower-case letter
 * followed by the name in upper case); it ends at a non-lower-case character. One optional `_`, `-` or
 * space may sit between two letters of a name (names are folder names: `openbanking` is also written
 * `open_banking`).
 */
function partnerPattern(partners: readonly string[]): RegExp {
  const anyCase = (char: string) =>
    /[a-z]/i.test(char) ? `[${char.toLowerCase()}${char.toUpperCase()}]` : char.replace(/[^\w]/g, '\\$&');
  const body = (name: string, first: string) =>
    first + [...name.slice(1)].map((char) => `[-_ ]?${anyCase(char)}`).join('');
  const alternatives = partners.flatMap((name) => [
    `(?<![A-Za-z])${body(name, anyCase(name[0]!))}`,
    `(?<=[a-z])${body(name, name[0]!.toUpperCase())}`,
  ]);
  return new RegExp(`(?:${alternatives.join('|')})(?![a-z])`, 'g');
}

interface Hit {
  file: string;
  line: number;
  match: string;
  code: string;
}

/** Every partner name in the code (not the comments) of the given sources (path -> text). */
function findPartnerNames(sources: Map<string, string>, partners: readonly string[]): Hit[] {
  const pattern = partnerPattern(partners);
  const hits: Hit[] = [];
  for (const [file, text] of sources) {
    const code = file.endsWith('.sql') ? stripSqlComments(text) : stripTsComments(text, file);
    const lines = text.split('\n');
    for (const match of code.matchAll(pattern)) {
      const line = lineAt(code, match.index);
      hits.push({ file, line, match: match[0], code: (lines[line - 1] ?? '').trim() });
    }
  }
  return hits;
}

/** Product code that must not name a partner: every floor, minus the partner folders and the module list. */
function productFilesOutsidePartners(partners: readonly string[]): string[] {
  return listFiles(
    FLOORS,
    (path) =>
      /\.(ts|mts|cts|tsx|js|mjs|cjs|sql)$/.test(path) &&
      partnerFolderOf(path, partners) === undefined &&
      path !== MODULE_LIST &&
      !path.startsWith('resolvers/__generated__/'),
  );
}

// ---------------------------------------------------------------------------------------------------

describe('the partner-name helpers', () => {
  const partners = ['openbanking', 'plaid', 'stripe'];
  const find = (files: Record<string, string>) =>
    findPartnerNames(new Map(Object.entries(files)), partners).map(
      (hit) => `${hit.file}:${hit.line} ${hit.match}`,
    );

  it('finds names in code and strings, in any case, as words or camelCase humps', () => {
    const text = [
      `import Stripe from 'stripe';`,
      `const key = env.PLAID_SECRET;`,
      `const openBanking = isStripe(x) || stripeClient;`,
      'const url = `https://api.stripe.com/v1/${path}`; // a comment naming plaid',
      `const label = 'Open Banking';`,
      `const OPEN_BANKING_URL = 'open-banking';`,
    ].join('\n');
    expect(find({ 'services/x.ts': text })).toEqual([
      'services/x.ts:1 Stripe',
      'services/x.ts:1 stripe',
      'services/x.ts:2 PLAID',
      'services/x.ts:3 openBanking',
      'services/x.ts:3 Stripe',
      'services/x.ts:3 stripe',
      'services/x.ts:4 stripe',
      'services/x.ts:5 Open Banking',
      'services/x.ts:6 OPEN_BANKING',
      'services/x.ts:6 open-banking',
    ]);
  });

  it('ignores comments, and words that merely contain a name', () => {
    const text = [
      `/** The Open Banking consent id, the Plaid item id. */`,
      `// stripe: see datasources/stripe/`,
      `const striped = stripes.unstriped; /* openbanking */ const url = 'http://x//y';`,
      `const n = 1; // PLAID_`,
      `/*`,
      ` * stripe`,
      ` */`,
      `export const plaids = 'plaided';`,
    ].join('\n');
    expect(find({ 'store/x.ts': text })).toEqual([]);
  });

  it('strips SQL comments but not SQL strings', () => {
    const sql = [
      `-- Open Banking consent id, Plaid item id`,
      `CREATE TABLE consents (ref text NOT NULL); /* stripe */`,
      `INSERT INTO providers VALUES ('stripe'), ('it''s -- not a comment plaid');`,
      `SELECT 1; -- stripe`,
    ].join('\n');
    expect(find({ 'store/migrations/001_init.sql': sql })).toEqual([
      'store/migrations/001_init.sql:3 stripe',
      'store/migrations/001_init.sql:3 plaid',
    ]);
  });

  it('keeps line numbers after multi-line comments and reads a clean file as clean', () => {
    const text = `/**\n * plaid\n */\nexport const x = 1;\n\nexport const provider = 'plaid';\n`;
    expect(find({ 'resolvers/x.ts': text })).toEqual(['resolvers/x.ts:6 plaid']);
    expect(find({ 'resolvers/y.ts': `import type { ProviderName } from '../domain/model.js';\n` })).toEqual(
      [],
    );
  });
});

describe('partner names in product code', () => {
  const partners = partnerNames();

  it('derives the partners from the folders under datasources/', () => {
    expect(partners.length).toBeGreaterThan(0);
  });

  it('names no partner outside datasources/<partner>/ and the module list (comments aside)', () => {
    const files = productFilesOutsidePartners(partners);
    expect(files.length).toBeGreaterThan(0);
    expect(files.some((file) => file.endsWith('.sql'))).toBe(true);
    const hits = findPartnerNames(readSources(files), partners);
    const listing = hits.map((hit) => `${hit.file}:${hit.line}  ${hit.match}  | ${hit.code}`);
    expect(
      listing,
      `partner names (${partners.join(', ')}) in product code outside their folders and ${MODULE_LIST} ` +
        `(${hits.length}):\n  ${listing.join('\n  ')}`,
    ).toEqual([]);
  });
});
