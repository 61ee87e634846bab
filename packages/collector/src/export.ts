// CSV and XLSX exports of a report: the same rows and columns as the JSON, flattened.
// Key columns first, then the figures, one revenue_<CUR> column per currency and one
// conversions_<type> column per conversion type present, and a final totals row.
import { fromMinor, minorDigits } from './money.js';
import type { ReportRow } from './report.js';

export interface ReportAnswer {
  by: string;
  from: string;
  to: string;
  event: string | null;
  rows: ReportRow[];
  totals: ReportRow;
}

type Figures = Omit<ReportRow, 'key' | 'keys'>;
/** by=affiliate rows also carry their parent and their team's roll-up (teams.ts). */
type Row = ReportRow & { parent?: string | null; team?: Partial<Figures> };

export type Cell =
  | { kind: 'text'; value: string | null }
  | { kind: 'number'; value: number | null; format?: 'percent' }
  /** minor null: a row without these figures (no team), an empty cell as its other figures are. */
  | { kind: 'money'; minor: number | null; currency: string };

interface Column {
  header: string;
  cell(row: Row, keys: Array<string | null>): Cell;
}

const COUNTS = ['visits', 'visitors', 'clicks', 'previews', 'orders', 'tickets'] as const;
const AFTER_REVENUE = ['conversion_rate', 'new_customers', 'scanned', 'unscanned', 'attendance_rate'] as const;
const RATES = new Set<string>(['conversion_rate', 'attendance_rate']);

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

/** The figure columns of one row shape, in the documented order; `pick` reads the figures. */
function figureColumns(prefix: string, figures: Array<Partial<Figures>>, pick: (r: Row) => Partial<Figures> | undefined): Column[] {
  const currencies = sorted(figures.flatMap((f) => Object.keys(f.revenue ?? {})));
  const goals = sorted(figures.flatMap((f) => Object.keys(f.conversions ?? {})));
  const num = (name: string) => (figure: unknown): Cell => ({
    kind: 'number',
    value: typeof figure === 'number' ? figure : null,
    ...(RATES.has(name) ? { format: 'percent' as const } : {}),
  });
  const plain = (names: readonly string[]) =>
    names
      .filter((name) => figures.some((f) => name in f))
      .map((name) => ({ header: prefix + name, cell: (r: Row) => num(name)((pick(r) as Record<string, unknown> | undefined)?.[name]) }));
  return [
    ...plain(COUNTS),
    ...currencies.map((currency) => ({
      header: `${prefix}revenue_${currency}`,
      cell: (r: Row): Cell => {
        const revenue = pick(r)?.revenue;
        return { kind: 'money', minor: revenue ? (revenue[currency] ?? 0) : null, currency };
      },
    })),
    ...plain(AFTER_REVENUE),
    ...goals.map((goal) => ({
      header: `${prefix}conversions_${goal}`,
      cell: (r: Row): Cell => {
        const conversions = pick(r)?.conversions;
        return { kind: 'number', value: conversions ? (conversions[goal] ?? 0) : null };
      },
    })),
  ];
}

/** The report as a header and rows of typed cells; the last row holds the totals. */
export function flattenReport(report: ReportAnswer): { header: string[]; rows: Cell[][] } {
  const dims = report.by.split(',');
  const rows = report.rows as Row[];
  const teams = rows.filter((r) => r.team).map((r) => r.team!);
  const columns: Column[] = [
    ...dims.map((dim, i) => ({ header: dim, cell: (_r: Row, keys: Array<string | null>): Cell => ({ kind: 'text', value: keys[i] ?? null }) })),
    ...(rows.some((r) => 'parent' in r) ? [{ header: 'parent', cell: (r: Row): Cell => ({ kind: 'text', value: r.parent ?? null }) }] : []),
    ...figureColumns('', [...rows, report.totals], (r) => r),
    ...(teams.length ? figureColumns('team_', teams, (r) => r.team) : []),
  ];
  const line = (r: Row, keys: Array<string | null>) => columns.map((c) => c.cell(r, keys));
  return {
    header: columns.map((c) => c.header),
    rows: [
      ...rows.map((r) => line(r, r.keys ?? [r.key ?? null])),
      // The totals row has no team of its own: its team cells stay empty.
      line({ ...report.totals, team: {} }, ['Total', ...dims.slice(1).map(() => null)]),
    ],
  };
}

/**
 * CSV formula injection: a text field that starts with = + - @ (or tab, CR, LF) is read as a
 * formula by Excel and LibreOffice when they open a CSV. A leading ' makes it plain text.
 */
export const neutralize = (text: string): string => (/^[=+\-@\t\r\n]/.test(text) ? `'${text}` : text);

/** RFC 4180: a field with a comma, a quote or a line break is quoted, quotes doubled. */
const csvField = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

function csvText(cell: Cell): string {
  if (cell.kind === 'money') return cell.minor === null ? '' : fromMinor(cell.minor, cell.currency);
  if (cell.kind === 'number') return cell.value === null ? '' : String(cell.value);
  return cell.value === null ? '' : neutralize(cell.value);
}

/** UTF-8 CSV, CRLF line ends; money in major units as exact decimal strings. */
export function reportCsv(report: ReportAnswer): string {
  const { header, rows } = flattenReport(report);
  const lines = [header.map(csvField), ...rows.map((row) => row.map((cell) => csvField(csvText(cell))))];
  return lines.map((fields) => fields.join(',')).join('\r\n') + '\r\n';
}

const moneyFormat = (currency: string) => {
  const digits = minorDigits(currency) ?? 2;
  return digits === 0 ? '0' : `0.${'0'.repeat(digits)}`;
};

/**
 * What XML 1.0 can't hold (control characters but tab, LF and CR; U+FFFE, U+FFFF; lone
 * surrogates): one such character in a cell made the whole file unreadable. Ingest drops
 * them now; rows stored before still pass here.
 */
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]/gu;
const xmlText = (text: string): string => text.replace(NOT_XML, '\ufffd');

/** One worksheet; money as numbers in major units with the currency's decimals. */
export async function reportXlsx(report: ReportAnswer, created: Date): Promise<Buffer> {
  const { header, rows } = flattenReport(report);
  // Loaded on the first spreadsheet: 29 MB that ingest never needs.
  const { default: ExcelJS } = await import('exceljs');
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'linktrail';
  workbook.created = created;
  workbook.modified = created;
  const sheet = workbook.addWorksheet('Report', { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.addRow(header.map(xmlText)).font = { bold: true };
  rows.forEach((cells, i) => {
    const row = sheet.addRow(
      cells.map((cell) => {
        // Number() of an exact decimal string is the nearest double: what a spreadsheet holds.
        if (cell.kind === 'money') return cell.minor === null ? null : Number(fromMinor(cell.minor, cell.currency));
        if (cell.kind === 'number') return cell.value;
        // A text cell of a workbook is never a formula (those are cells of their own type): the
        // text as it is, without the ' the CSV needs, which Excel would show.
        return cell.value === null ? null : xmlText(cell.value);
      }),
    );
    cells.forEach((cell, c) => {
      if (cell.kind === 'money' && cell.minor !== null) row.getCell(c + 1).numFmt = moneyFormat(cell.currency);
      if (cell.kind === 'number' && cell.format === 'percent') row.getCell(c + 1).numFmt = '0.00%';
    });
    if (i === rows.length - 1) row.font = { bold: true };
  });
  header.forEach((name, c) => (sheet.getColumn(c + 1).width = Math.max(10, Math.min(40, name.length + 2))));
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** linktrail-<site>-<by>-<from>-<to>.<ext>, `to` as the last day included. */
export function exportFilename(site: string, report: ReportAnswer, ext: 'csv' | 'xlsx'): string {
  const lastDay = new Date(Date.parse(report.to) - 1).toISOString().slice(0, 10);
  return `linktrail-${site}-${report.by.replace(/,/g, '+')}-${report.from.slice(0, 10)}-${lastDay}.${ext}`;
}
