/** The authenticated caller, from a verified bearer token. */
export interface Principal {
  /** The customer id (JWT `sub`). */
  subject: string;
  scopes: ReadonlySet<string>;
}
