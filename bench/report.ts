/**
 * What a benchmark run leaves behind: a table on stdout, `bench/results/<date>.json` and
 * `latest.json`, and `latest.svg`, a bar chart of server CPU per request that the README shows.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sample } from './measure.js';

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** One line of the summary: a configuration's figures over the rounds (or its single run). */
export interface Line {
  name: string;
  label: string;
  cpuUsPerReq: Spread | null;
  reqPerSec: Spread;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  note?: string;
}

export interface Target {
  scenario: string;
  target: string;
  observed: string;
  met: boolean | null;
}

export interface BenchReport {
  date: string;
  machine: { node: string; cpus: number; pinned: boolean };
  /** The database the subgraph ran on. */
  database?: 'pglite' | 'postgresql';
  settings: { warmupSeconds: number; seconds: number; rounds: number; connections: number };
  lines: Line[];
  ratios: Record<string, Spread>;
  partnerCallsPerOperation: Record<string, Record<string, Record<string, number>>>;
  targets: Target[];
  samples: Sample[];
}

const fmt = (value: number | undefined, digits = 0) =>
  value === undefined ? '' : value.toLocaleString('en-US', { maximumFractionDigits: digits });
const spreadText = (spread: Spread | null, digits = 0) =>
  spread === null
    ? 'n/a'
    : `${fmt(spread.median, digits)} (${fmt(spread.min, digits)}–${fmt(spread.max, digits)})`;

export function printReport(report: BenchReport): void {
  const rows = report.lines.map((line) => [
    line.label,
    spreadText(line.cpuUsPerReq),
    spreadText(line.reqPerSec),
    line.latencyP50Ms === undefined ? '' : `${fmt(line.latencyP50Ms, 1)} / ${fmt(line.latencyP99Ms, 1)}`,
    line.note ?? '',
  ]);
  const header = ['configuration', 'CPU µs/req', 'req/s', 'p50 / p99 ms', 'note'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const render = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  if (report.database) console.log(`Database: ${report.database}\n`);
  console.log(render(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(render(row));
  console.log('\nRatios (median of per-round ratios, min–max):');
  for (const [name, spread] of Object.entries(report.ratios))
    console.log(`  ${name}: ${spreadText(spread, 2)}`);
  console.log('\nPartner calls per operation:');
  for (const [scenario, partners] of Object.entries(report.partnerCallsPerOperation)) {
    console.log(`  ${scenario}: ${JSON.stringify(partners)}`);
  }
  console.log('\nTargets:');
  for (const target of report.targets) {
    const verdict = target.met === null ? 'reported' : target.met ? 'met' : 'NOT met';
    console.log(`  [${verdict}] ${target.scenario}: ${target.target}; observed ${target.observed}`);
  }
}

export function writeReport(report: BenchReport, directory: string): string[] {
  mkdirSync(directory, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const dated = join(directory, `${report.date.slice(0, 19).replace(/[:T]/g, '-')}.json`);
  const files = [dated, join(directory, 'latest.json'), join(directory, 'latest.svg')];
  writeFileSync(files[0]!, json);
  writeFileSync(files[1]!, json);
  writeFileSync(files[2]!, chart(report));
  return files;
}

/** Horizontal bars of median server CPU per request, one per configuration. */
function chart(report: BenchReport): string {
  const lines = report.lines.filter((line) => line.cpuUsPerReq !== null);
  const max = Math.max(...lines.map((line) => line.cpuUsPerReq!.median), 1);
  const left = 270;
  const width = 760;
  const barSpace = width - left - 90;
  const rowHeight = 30;
  const top = 48;
  const height = top + lines.length * rowHeight + 40;
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const bars = lines.map((line, index) => {
    const y = top + index * rowHeight;
    const value = line.cpuUsPerReq!.median;
    const length = Math.max(2, (value / max) * barSpace);
    const colour = line.name.startsWith('tributary') ? '#2f6fdf' : '#9aa5b1';
    return [
      `<text x="${left - 10}" y="${y + 19}" text-anchor="end">${escape(line.label)}</text>`,
      `<rect x="${left}" y="${y + 5}" width="${length.toFixed(1)}" height="20" fill="${colour}"/>`,
      `<text x="${(left + length + 6).toFixed(1)}" y="${y + 19}">${fmt(value)} µs</text>`,
    ].join('');
  });
  const title = `Server CPU per request (median of ${report.settings.rounds} rounds, lower is better)`;
  const footer = `${report.date.slice(0, 10)} · Node ${report.machine.node} · ${report.machine.cpus} CPUs · server ${report.machine.pinned ? 'pinned to CPU 0' : 'not pinned'}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="28" font-size="15" font-weight="bold">${escape(title)}</text>`,
    ...bars,
    `<text x="16" y="${height - 14}" font-size="11" fill="#555">${escape(footer)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
