/**
 * Reads an import file row by row, streaming: a CSV through iconv-lite (UTF-8 with or without a
 * BOM, or GBK as Chinese Excel saves it) and csv-parse, an xlsx through exceljs's WorkbookReader
 * (its first worksheet). Memory stays flat whatever the file's length.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { parse } from 'csv-parse';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { type HeaderMap, mapHeader } from './columns';
import type { Cell, RawRow } from './row';

export type ImportFormat = 'csv' | 'xlsx';
export type CsvEncoding = 'utf-8' | 'gbk';

export interface SourceRow {
  /** As a spreadsheet numbers it: the header is row 1. */
  rowNumber: number;
  raw: RawRow;
}

export interface ImportFile {
  header: HeaderMap;
  encoding: CsvEncoding | null;
  rows: AsyncIterable<SourceRow>;
}

const SAMPLE_BYTES = 64 * 1024;

async function sample(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buf = Buffer.alloc(SAMPLE_BYTES);
    const { bytesRead } = await file.read(buf, 0, SAMPLE_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** UTF-8 when the file says so (a BOM) or its start decodes as UTF-8; else GBK (GB18030, its superset, decodes both). */
export function detectEncoding(head: Buffer): CsvEncoding {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  // The sample may end inside a character: leave out a trailing incomplete sequence.
  let end = head.length;
  for (let i = Math.max(0, end - 3); i < end; i++) {
    const b = head[i];
    const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (len > 1 && i + len > end) end = i;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, end));
    return 'utf-8';
  } catch {
    return 'gbk';
  }
}

function toRaw(header: HeaderMap, cells: Cell[]): RawRow {
  const raw: RawRow = {};
  header.fields.forEach((field, i) => {
    if (field) raw[field] = cells[i];
  });
  return raw;
}

async function openCsv(path: string): Promise<ImportFile> {
  const head = await sample(path);
  const encoding = detectEncoding(head);
  const firstLine = iconv.decode(head, encoding === 'gbk' ? 'gb18030' : 'utf-8').split(/\r?\n/, 1)[0];
  const delimiter = (firstLine.match(/\t/g)?.length ?? 0) > (firstLine.match(/,/g)?.length ?? 0) ? '\t' : ',';
  const parser = createReadStream(path)
    .pipe(iconv.decodeStream(encoding === 'gbk' ? 'gb18030' : 'utf-8'))
    .pipe(parse({ bom: true, delimiter, relax_column_count: true, skip_empty_lines: true, info: true }));
  const records = parser[Symbol.asyncIterator]() as AsyncIterator<{ record: string[]; info: { lines: number } }>;
  const first = await records.next();
  const header = mapHeader(first.done ? [] : first.value.record);
  async function* rows(): AsyncGenerator<SourceRow> {
    try {
      for (let next = await records.next(); !next.done; next = await records.next()) {
        yield { rowNumber: next.value.info.lines, raw: toRaw(header, next.value.record) };
      }
    } finally {
      parser.destroy();
    }
  }
  return { header, encoding, rows: rows() };
}

/** A cell as a plain value: rich text, hyperlinks and formulas give their text or result. */
function cellValue(v: ExcelJS.CellValue): Cell {
  if (v === null || v === undefined || typeof v !== 'object' || v instanceof Date) return v as Cell;
  if ('richText' in v) return v.richText.map((t) => t.text).join('');
  if ('result' in v) return cellValue(v.result as ExcelJS.CellValue);
  if ('text' in v) return String(v.text);
  return undefined; // an error cell
}

async function openXlsx(path: string): Promise<ImportFile> {
  // styles are read so that date-formatted cells come out as dates, not serial numbers.
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, { sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', worksheets: 'emit', entries: 'emit' });
  const sheets = reader[Symbol.asyncIterator]();
  const sheet = await sheets.next();
  if (sheet.done) return { header: mapHeader([]), encoding: null, rows: (async function* () {})() };
  const rowsOfSheet = (sheet.value as AsyncIterable<ExcelJS.Row>)[Symbol.asyncIterator]();
  // row.values is 1-based (index 0 is empty).
  const values = (row: ExcelJS.Row) => (row.values as ExcelJS.CellValue[]).slice(1).map(cellValue);
  let headerRow = await rowsOfSheet.next();
  const header = mapHeader(headerRow.done ? [] : values(headerRow.value).map((v) => String(v ?? '')));
  async function* rows(): AsyncGenerator<SourceRow> {
    try {
      for (headerRow = await rowsOfSheet.next(); !headerRow.done; headerRow = await rowsOfSheet.next()) {
        const cells = values(headerRow.value);
        if (cells.every((c) => c === undefined || c === null || c === '')) continue;
        yield { rowNumber: headerRow.value.number, raw: toRaw(header, cells) };
      }
    } finally {
      // Stops the zip stream when the reader leaves early (a resumed job skipping rows does not).
      await rowsOfSheet.return?.(undefined);
      await sheets.return?.(undefined);
    }
  }
  return { header, encoding: null, rows: rows() };
}

export function openImportFile(path: string, format: ImportFormat): Promise<ImportFile> {
  return format === 'csv' ? openCsv(path) : openXlsx(path);
}
