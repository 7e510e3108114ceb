/** What an inbound SMS asks for, decided before any free-text handling. */
export type InboundSmsClassification =
  | { kind: 'opt-out' }
  | { kind: 'opt-in' }
  | { kind: 'help' }
  | { kind: 'csat'; score: CsatScore }
  | { kind: 'free-text' };

export type CsatScore = 1 | 2 | 3 | 4 | 5;

// T/TD/N/R/退订 are what Chinese carriers print in "回T退订"; the rest are the keywords Twilio honours.
const OPT_OUT_KEYWORDS: ReadonlySet<string> = new Set([
  'T', 'TD', 'N', 'R', '退订',
  'STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT',
]);
const OPT_IN_KEYWORDS: ReadonlySet<string> = new Set(['START', 'UNSTOP']);
const HELP_KEYWORDS: ReadonlySet<string> = new Set(['HELP', '帮助']);

const CSAT_ANSWER = /^[1-5]$/;
const EDGE_NOISE = /^[\p{P}\p{S}\p{Z}\s]+|[\p{P}\p{S}\p{Z}\s]+$/gu;

/**
 * Classifies an inbound SMS. A keyword only counts when it is the whole message, so
 * "please don't stop" stays free text instead of silently unsubscribing the customer.
 */
export function classifyInboundSms(body: string): InboundSmsClassification {
  const text = normaliseReply(body);
  if (OPT_OUT_KEYWORDS.has(text)) return { kind: 'opt-out' };
  if (OPT_IN_KEYWORDS.has(text)) return { kind: 'opt-in' };
  if (HELP_KEYWORDS.has(text)) return { kind: 'help' };
  if (CSAT_ANSWER.test(text)) return { kind: 'csat', score: Number(text) as CsatScore };
  return { kind: 'free-text' };
}

/** NFKC folds full-width forms ('ＳＴＯＰ', '５', '！') to ASCII; edge punctuation and spaces are noise. */
function normaliseReply(body: string): string {
  return body.normalize('NFKC').replace(EDGE_NOISE, '').toUpperCase();
}

/** The answer to HELP: the hotline of every store the sender is a customer of, and how to stop. */
export function helpReply(stores: readonly { name: string; serviceHotline: string | null }[], locale: 'zh-CN' | 'en'): string {
  const zh = locale === 'zh-CN';
  const lines = stores.map((store) => {
    if (!store.serviceHotline) return zh ? `【${store.name}】请联系您的销售顾问。` : `${store.name}: please contact your consultant.`;
    return zh ? `【${store.name}】服务热线 ${store.serviceHotline}。` : `${store.name} service hotline: ${store.serviceHotline}.`;
  });
  lines.push(zh ? '回T退订，回START恢复接收。' : 'Reply STOP to opt out, START to opt back in.');
  return lines.join(zh ? '' : ' ');
}
