/**
 * Once per test run: when the partners' published specs are not beside the repository
 * (`../shared/partner-specs`, reference data that is not copied into the project), the suites that check
 * the sandboxes against them skip, and the run says so at its end, so nobody takes the skips for coverage.
 */
import { existsSync } from 'node:fs';
import { fromRoot } from '../store/paths.js';

export const PARTNER_SPECS_DIR = fromRoot('..', 'shared', 'partner-specs');

export default function setup(): () => void {
  return () => {
    if (existsSync(PARTNER_SPECS_DIR)) return;
    process.stderr.write(
      `\nPartner-spec suites skipped: ${PARTNER_SPECS_DIR} is missing. The sandboxes were not checked against ` +
        'the partners\' published specs (README, "Partner specs", says how to get them).\n',
    );
  };
}
