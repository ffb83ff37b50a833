// The data API's answers, as JSON text. Row values are stored as JSON text and spliced in
// as they are: no parse and re-serialise per read.

import { formatHlc } from '../lib/index.js';
import type { StoredRow } from '../store/index.js';

export interface Answer {
  readonly status: number;
  readonly body: string;
}

export function rowAnswer(row: StoredRow, region: string): Answer {
  return { status: 200, body: `{"table":${JSON.stringify(row.table)},"key":${JSON.stringify(row.key)},"value":${row.value ?? 'null'},"version":"${formatHlc(row.version)}","home":${JSON.stringify(row.home)},"region":"${region}"}` };
}

export function rowListItem(row: StoredRow): string {
  return `{"table":${JSON.stringify(row.table)},"key":${JSON.stringify(row.key)},"value":${row.value ?? 'null'},"version":"${formatHlc(row.version)}","home":${JSON.stringify(row.home)}}`;
}

export function counterAnswer(table: string, key: string, value: number, region: string): Answer {
  return { status: 200, body: JSON.stringify({ table, key, value, region }) };
}

export function deletedAnswer(row: StoredRow, region: string): Answer {
  return { status: 200, body: JSON.stringify({ table: row.table, key: row.key, deleted: true, version: formatHlc(row.version), region }) };
}

export function errorAnswer(status: number, error: string, reason: string, extra: Record<string, unknown> = {}): Answer {
  return { status, body: JSON.stringify({ error, reason, ...extra }) };
}
