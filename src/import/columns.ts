/**
 * The columns an import understands, under the headers DMS exports give them (Chinese first).
 * A header matches after spaces, a trailing unit in brackets ("里程(km)", "里程（公里）") and case
 * are set aside; unknown columns are ignored.
 */
export const FIELDS = {
  customerExternalId: ['客户编号', '客户ID', '客户代码', '客户号', 'customerId', 'customer_id', 'customerExternalId'],
  customerName: ['客户姓名', '客户名称', '车主姓名', '姓名', 'customerName', 'customer_name', 'name'],
  phone: ['手机号码', '手机号', '手机', '联系电话', '联系方式', 'phone', 'mobile'],
  email: ['电子邮箱', '邮箱', 'email'],
  vin: ['车架号', '车辆识别代号', '车辆识别号', '底盘号', 'VIN'],
  model: ['车型', '车型名称', '车系', 'model'],
  plate: ['车牌号', '车牌号码', '车牌', 'plate'],
  deliveredAt: ['交车日期', '交车时间', '交付日期', '开票日期', 'deliveredAt', 'delivered_at'],
  consultantId: ['销售顾问工号', '销售顾问编号', '顾问工号', '顾问编号', 'consultantId', 'consultant_id'],
  consultantName: ['销售顾问', '顾问姓名', '销售顾问姓名', 'consultantName', 'consultant'],
  serviceDate: ['服务日期', '维修日期', '保养日期', '进厂日期', 'serviceDate', 'service_date'],
  odometerKm: ['里程', '行驶里程', '进厂里程', '里程数', '公里数', 'odometer', 'odometerKm', 'mileage'],
  serviceType: ['服务类型', '维修类型', '工单类型', 'serviceType'],
  workDone: ['服务内容', '维修项目', '工作内容', '维修内容', 'workDone', 'work'],
  insuranceExpiry: ['保险到期日', '保险到期日期', '商业险到期日', '交强险到期日', 'insuranceExpiry', 'insurance_expiry'],
  insurer: ['保险公司', 'insurer'],
  policyNumber: ['保单号', '保单号码', '商业险保单号', 'policyNumber', 'policy_number'],
} as const;

export type Field = keyof typeof FIELDS;

const normalizeHeader = (h: string) =>
  h.replace(/^\uFEFF/, '').replace(/[(（][^)）]*[)）]\s*$/u, '').replace(/[\s_\-*]/g, '').toLowerCase();

const BY_HEADER = new Map<string, Field>(
  (Object.entries(FIELDS) as [Field, readonly string[]][]).flatMap(([field, names]) => names.map((n) => [normalizeHeader(n), field] as const)),
);

export interface HeaderMap {
  /** For each column index, its field (undefined: ignored). */
  fields: (Field | undefined)[];
  /** The header as the file wrote it, by field: problems name the column the user sees. */
  columnOf: Partial<Record<Field, string>>;
}

/** Maps a header row; the first column of a field wins (a later duplicate is ignored). */
export function mapHeader(headers: string[]): HeaderMap {
  const columnOf: HeaderMap['columnOf'] = {};
  const fields = headers.map((h) => {
    const field = BY_HEADER.get(normalizeHeader(String(h ?? '')));
    if (!field || columnOf[field]) return undefined;
    columnOf[field] = String(h).replace(/^\uFEFF/, '').trim();
    return field;
  });
  return { fields, columnOf };
}

/** Why no row of a file with these columns could be imported, or null. */
export function headerProblem(map: HeaderMap): string | null {
  if (!map.columnOf.vin && !map.columnOf.phone && !map.columnOf.customerExternalId) {
    return `no column names a vehicle or a customer: expected one of ${FIELDS.vin[0]}, ${FIELDS.phone[0]}, ${FIELDS.customerExternalId[0]}`;
  }
  return null;
}
