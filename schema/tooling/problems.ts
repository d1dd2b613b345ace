/**
 * What every schema check reports: one problem per line, naming the schema coordinate (`Type.field`,
 * `Type.field(arg)`, `Enum.VALUE`) and why. Errors fail `npm run schema:check`; warnings are printed only.
 */

export type CheckName = 'files' | 'composition' | 'breaking' | 'deprecation' | 'lint';

export interface Problem {
  check: CheckName;
  /** A short rule id inside the check, e.g. `description`, `FIELD_REMOVED`, `INVALID_FIELD_SHARING`. */
  rule: string;
  /** The schema coordinate the problem is about, or a subgraph or file name. */
  coordinate: string;
  message: string;
  severity: 'error' | 'warning';
}

export function error(check: CheckName, rule: string, coordinate: string, message: string): Problem {
  return { check, rule, coordinate, message, severity: 'error' };
}

export function warning(check: CheckName, rule: string, coordinate: string, message: string): Problem {
  return { check, rule, coordinate, message, severity: 'warning' };
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((problem) => problem.severity === 'error');
}

/** `✖ Account.name: has no description [lint/description]`; continuation lines are indented. */
export function formatProblem(problem: Problem): string {
  const mark = problem.severity === 'error' ? '✖' : '⚠';
  const [first = '', ...rest] = problem.message.trim().split('\n');
  const head = `${mark} ${problem.coordinate}: ${first} [${problem.check}/${problem.rule}]`;
  return [head, ...rest.map((line) => `    ${line}`)].join('\n');
}
