import { mapHeader } from '../../src/import/columns';
import { parseImportDate } from '../../src/import/dates';
import { parseRow } from '../../src/import/row';

describe('dates as DMS exports write them', () => {
  it.each([
    ['2024-03-05', '2024-03-05'], ['2024/3/5', '2024-03-05'], ['2024.03.05', '2024-03-05'], ['2024年3月5日', '2024-03-05'],
    ['20240305', '2024-03-05'], ['45356', '2024-03-05'], [45356, '2024-03-05'], [new Date(Date.UTC(2024, 2, 5)), '2024-03-05'],
  ])('%p is %s', (cell, date) => {
    expect(parseImportDate(cell)).toEqual({ ok: true, value: { date } });
  });

  it('keeps a time of day when the file gives one (text, Excel fraction, Excel date-time cell)', () => {
    expect(parseImportDate('2024/3/5 14:30')).toEqual({ ok: true, value: { date: '2024-03-05', time: '14:30:00' } });
    expect(parseImportDate(45356.5)).toEqual({ ok: true, value: { date: '2024-03-05', time: '12:00:00' } });
    expect(parseImportDate(new Date(Date.UTC(2024, 2, 5, 9, 15)))).toEqual({ ok: true, value: { date: '2024-03-05', time: '09:15:00' } });
  });

  it.each(['2023-02-30', '2024-13-01', '1999-12-31', '2101-01-01', '5/3/2024', 'tomorrow', '12345'])('refuses %p', (cell) => {
    expect(parseImportDate(cell).ok).toBe(false);
  });
});

describe('a row of an export', () => {
  const header = mapHeader(['\uFEFF客户姓名', '手机号码', '车架号', '里程（公里）', '服务日期', '备注']);

  it('maps headers with a BOM, a unit in brackets, and ignores unknown columns', () => {
    expect(header.fields).toEqual(['customerName', 'phone', 'vin', 'odometerKm', 'serviceDate', undefined]);
    expect(header.columnOf.odometerKm).toBe('里程（公里）');
  });

  it('names the column of each problem and never stops at the first', () => {
    const parsed = parseRow({ customerName: '张伟', phone: '12345', vin: 'LSVAU218XN2183295', odometerKm: '-3', serviceDate: '2024-02-30' }, header);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems.map((p) => p.column)).toEqual(['手机号码', '车架号', '服务日期', header.columnOf.odometerKm]);
  });

  it('refuses a control character in a name and needs a customer key', () => {
    const parsed = parseRow({ customerName: '张\u0000伟' }, header);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems.map((p) => p.column)).toEqual(['客户姓名', '手机号码']);
  });
});
