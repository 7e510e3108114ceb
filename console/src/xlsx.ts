/** Any table as an .xlsx download: exceljs loads only when someone exports. */
export async function exportXlsx(name: string, columns: { title: string; key: string }[], rows: Record<string, unknown>[]): Promise<void> {
  const { default: ExcelJS } = await import('exceljs');
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet(name.slice(0, 31));
  sheet.columns = columns.map((c) => ({ header: c.title, key: c.key, width: Math.max(12, c.title.length * 2) }));
  for (const row of rows) sheet.addRow(Object.fromEntries(columns.map((c) => [c.key, cell(row[c.key])])));
  sheet.getRow(1).font = { bold: true };
  const blob = new Blob([await book.xlsx.writeBuffer()], { type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `${name}.xlsx`;
  link.click();
  URL.revokeObjectURL(link.href);
}

const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean));
