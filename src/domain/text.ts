import { z } from 'zod';

/**
 * Text that people type or a DMS exports, checked once at the boundary. PostgreSQL refuses NUL
 * in text columns, and a value it refuses inside a workflow's activity is retried forever; other
 * control characters and lone UTF-16 surrogates are never meant and corrupt messages and exports.
 */

// Cc is C0, DEL and C1 (U+0000-U+001F, U+007F-U+009F); with the u flag, Cs matches only a lone surrogate.
const CONTROL = /[\p{Cc}\p{Cs}]/u;
// The same, with tab, line feed and carriage return allowed: notes have lines.
const CONTROL_IN_NOTE = /(?![\t\n\r])[\p{Cc}\p{Cs}]/u;
// Embedding, override and isolate controls reorder what staff read next to a name (Trojan Source).
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
// Anything a reader can see: not a format character (zero-width spaces and joiners, direction
// marks, BOM, soft hyphen), not a separator or space, not a lone combining mark, not a filler.
const VISIBLE = /[^\p{Cf}\p{Z}\p{M}\s\u115F\u1160\u3164\uFFA0\u2800]/u;

const codePoint = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

function refuse(pattern: RegExp, what: string) {
  return (value: string, ctx: z.RefinementCtx) => {
    const found = pattern.exec(value);
    if (found) ctx.addIssue({ code: 'custom', message: `must not contain ${what} (${codePoint(found[0])} at index ${found.index})` });
  };
}

// An empty value is already reported by min(1).
function requireVisible(value: string, ctx: z.RefinementCtx) {
  if (value !== '' && !VISIBLE.test(value)) ctx.addIssue({ code: 'custom', message: 'must contain a visible character' });
}

/** One line of text (a model, a checklist item, a subject): trimmed, 1..max characters, something visible. */
export const safeText = (max: number) =>
  z.string().trim().min(1).max(max).superRefine(refuse(CONTROL, 'a control character')).superRefine(requireVisible);

/** A person's, store's or key's name: safe text that also carries no direction-override characters. */
export const safeName = (max: number) =>
  safeText(max).superRefine(refuse(BIDI_CONTROL, 'a direction-override character'));

/** Free text over several lines (a call note, a complaint, a message body): tabs and line breaks allowed. */
export const safeNote = (max: number) =>
  z.string().trim().min(1).max(max).superRefine(refuse(CONTROL_IN_NOTE, 'a control character')).superRefine(requireVisible);

/**
 * For text we must take as it comes (an SMS a customer sent, relayed by the provider): the control
 * characters dropped rather than the message refused. Line breaks and tabs stay.
 */
export function withoutControlCharacters(text: string): string {
  return text.replace(new RegExp(CONTROL_IN_NOTE.source, 'gu'), '');
}
