// A problem found in a topology file: where (the key's path, and the line when known),
// what is wrong, and what would be right. Errors stop a load; warnings are printed.

export interface Problem {
  readonly severity: 'error' | 'warning';
  /** The key's path, as `regions[1].mesh` or `data.tables.accounts.survive`. */
  readonly path: string;
  readonly message: string;
  /** What would be right, when there is something to say. */
  readonly expected?: string;
  /** 1-based line and column in the file, when the path can be found there. */
  readonly line?: number;
  readonly col?: number;
}

export type PathSegment = string | number;

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(top level)' : out;
}

/** One line per problem: `file:line:col: path: what is wrong; expected what`. */
export function formatProblem(p: Problem, file?: string): string {
  const where = [file, p.line, p.col].filter((x) => x !== undefined).join(':');
  const prefix = where === '' ? '' : `${where}: `;
  const sev = p.severity === 'warning' ? 'warning: ' : '';
  const expected = p.expected === undefined ? '' : `; expected ${p.expected}`;
  return `${prefix}${sev}${p.path}: ${p.message}${expected}`;
}
