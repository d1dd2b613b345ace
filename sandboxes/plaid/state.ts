/**
 * The sandbox's mutable state: each customer's book (accounts and a change log of transactions),
 * public tokens, Items and their access tokens. Tokens and item ids are random (they are secrets or
 * per-link handles); everything the customer sees is seeded and deterministic.
 */
import { randomUUID } from 'node:crypto';
import { buildSeed } from './seed.js';
import { fail, randomId, type WireAccount, type WireTransaction } from './wire.js';

/** One transaction and where it sits in the customer's change log. */
export interface Entry {
  wire: WireTransaction;
  /** Change-log position at which it was added, last changed, removed. */
  addedSeq: number;
  lastSeq: number;
  removedSeq: number | null;
}

/** What the institution holds for one customer. Every change bumps `seq`. */
export interface Book {
  customer: string;
  accounts: WireAccount[];
  exponents: Map<string, number>;
  entries: Map<string, Entry>;
  seq: number;
  /** An ITEM_ERROR code every data call of this customer's Items answers with, until cleared. */
  itemError: string | null;
  /** How many paginated /transactions/sync continuations still fail with a mutation error. */
  mutationsArmed: number;
}

export interface Item {
  itemId: string;
  customer: string;
  institutionId: string;
  products: string[];
  webhook: string | null;
  createdAt: Date;
}

interface PublicToken {
  customer: string;
  institutionId: string;
  products: string[];
  webhook: string | null;
  expiresAt: number;
}

/** What a Link session was opened for (/link/token/create), until the customer finishes Link. */
export interface LinkToken {
  clientUserId: string;
  products: string[];
  webhook: string | null;
  redirectUri: string | null;
  expiresAt: number;
}

/** What the sandbox saw of one partner call (GET /__sandbox/plaid/calls). */
export interface CallRecord {
  route: string;
  /** The caller's X-Request-Id, when it sent one. */
  correlationId: string | null;
  /** Where the credentials came from. */
  credentials: 'body' | 'headers';
  /** /transactions/sync only: what was asked and answered. */
  sync?: {
    cursor: string | null;
    count: number;
    added: number;
    modified: number;
    removed: number;
    hasMore: boolean;
  };
  errorCode?: string;
}

export interface StateOptions {
  now: () => number;
  publicTokenTtlSeconds: number;
  clients: Record<string, string>;
  extraAccounts: Record<string, number>;
}

/** Plaid: a link token for a new Item lives 4 hours. */
const LINK_TOKEN_TTL_MS = 4 * 3_600_000;

/** Plaid's default sandbox user stands for the first demo customer. */
const USERNAME_ALIASES: Readonly<Record<string, string>> = { user_good: 'cust_alice' };
const MAX_CALLS = 1000;

export class PlaidSandboxState {
  books = new Map<string, Book>();
  calls: CallRecord[] = [];
  private publicTokens = new Map<string, PublicToken>();
  private linkTokens = new Map<string, LinkToken>();
  private items = new Map<string, Item>();
  private tokens = new Map<string, string>();
  private removedTokens = new Set<string>();

  constructor(readonly options: StateOptions) {
    this.reset();
  }

  now(): Date {
    return new Date(this.options.now());
  }

  /** Back to the seed: books rebuilt, every token and Item forgotten. */
  reset(): void {
    this.books = new Map();
    for (const seed of buildSeed(this.options.extraAccounts).values()) {
      const book: Book = {
        customer: seed.customer,
        accounts: seed.accounts,
        exponents: seed.exponents,
        entries: new Map(),
        seq: 0,
        itemError: null,
        mutationsArmed: 0,
      };
      for (const wire of seed.transactions) {
        book.seq += 1;
        book.entries.set(wire.transaction_id, {
          wire,
          addedSeq: book.seq,
          lastSeq: book.seq,
          removedSeq: null,
        });
      }
      this.books.set(seed.customer, book);
    }
    this.publicTokens.clear();
    this.linkTokens.clear();
    this.items.clear();
    this.tokens.clear();
    this.removedTokens.clear();
    this.calls = [];
  }

  checkClient(clientId: string, secret: string): boolean {
    return this.options.clients[clientId] !== undefined && this.options.clients[clientId] === secret;
  }

  /** The customer a sandbox username logs in as, or null when no such customer is seeded. */
  customerFor(username: string): string | null {
    const customer = USERNAME_ALIASES[username] ?? username;
    return this.books.has(customer) ? customer : null;
  }

  book(customer: string): Book {
    const book = this.books.get(customer);
    if (!book) throw new Error(`no seeded customer ${customer}`);
    return book;
  }

  createPublicToken(
    customer: string,
    institutionId: string,
    products: string[],
    webhook: string | null,
  ): string {
    const token = `public-sandbox-${randomUUID()}`;
    const expiresAt = this.options.now() + this.options.publicTokenTtlSeconds * 1000;
    this.publicTokens.set(token, { customer, institutionId, products, webhook, expiresAt });
    return token;
  }

  /** Opens a Link session: the token the app starts Link with, and when it expires. */
  createLinkToken(session: Omit<LinkToken, 'expiresAt'>): { linkToken: string; expiresAt: Date } {
    const linkToken = `link-sandbox-${randomUUID()}`;
    const expiresAt = this.options.now() + LINK_TOKEN_TTL_MS;
    this.linkTokens.set(linkToken, { ...session, expiresAt });
    return { linkToken, expiresAt: new Date(expiresAt) };
  }

  /** The live Link session of a token; null when unknown, spent or expired. */
  linkSession(linkToken: string): LinkToken | null {
    const session = this.linkTokens.get(linkToken);
    return session && session.expiresAt > this.options.now() ? session : null;
  }

  /** Ends a Link session: a link token serves one completion (or one exit). */
  spendLinkToken(linkToken: string): void {
    this.linkTokens.delete(linkToken);
  }

  /** Redeems a public token once, creating the Item. */
  exchange(publicToken: string): { accessToken: string; item: Item } {
    const grant = this.publicTokens.get(publicToken);
    this.publicTokens.delete(publicToken);
    if (!grant || grant.expiresAt <= this.options.now()) {
      fail('INVALID_INPUT', 'INVALID_PUBLIC_TOKEN', 'provided public token is expired or invalid');
    }
    const item: Item = {
      itemId: randomId(),
      customer: grant.customer,
      institutionId: grant.institutionId,
      products: grant.products,
      webhook: grant.webhook,
      createdAt: this.now(),
    };
    const accessToken = `access-sandbox-${randomUUID()}`;
    this.items.set(item.itemId, item);
    this.tokens.set(accessToken, item.itemId);
    return { accessToken, item };
  }

  /**
   * The Item an access token opens. Data calls (`data: true`) also fail while the customer's book
   * has an item error armed, the way Plaid answers ITEM_LOGIN_REQUIRED until the user re-links.
   */
  itemFor(accessToken: unknown, data: boolean): { item: Item; book: Book } {
    if (typeof accessToken !== 'string' || accessToken === '') {
      fail('INVALID_REQUEST', 'MISSING_FIELDS', 'the following required fields are missing: access_token');
    }
    if (this.removedTokens.has(accessToken)) {
      fail(
        'ITEM_ERROR',
        'ITEM_NOT_FOUND',
        'the Item you requested cannot be found. This Item does not exist, has been previously removed via /item/remove, or has had access removed by the user',
      );
    }
    const itemId = this.tokens.get(accessToken);
    const item = itemId ? this.items.get(itemId) : undefined;
    if (!item) fail('INVALID_INPUT', 'INVALID_ACCESS_TOKEN', 'provided access token is in an invalid format');
    const book = this.book(item.customer);
    if (data && book.itemError) {
      fail(
        'ITEM_ERROR',
        book.itemError,
        'the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information.',
        "We're sorry, we couldn't connect to your account. Please log in again.",
      );
    }
    return { item, book };
  }

  /** The customer's live Items (the ones a change to the customer's book concerns). */
  itemsOf(customer: string): Item[] {
    return [...this.items.values()].filter((item) => item.customer === customer);
  }

  removeItem(accessToken: string, item: Item): void {
    this.tokens.delete(accessToken);
    this.items.delete(item.itemId);
    this.removedTokens.add(accessToken);
  }

  record(call: CallRecord): void {
    this.calls.push(call);
    if (this.calls.length > MAX_CALLS) this.calls.splice(0, this.calls.length - MAX_CALLS);
  }
}
