import { z } from 'zod';

/**
 * Text that people type or a DMS exports, checked once at the boundary. PostgreSQL refuses NUL
 * in text columns, and a value it refuses inside a workflow's activity is retried forever; other
 * control characters and lone UTF-16 surrogates are never meant and corrupt messages and exports.
 */

// C0 controls, DEL and C1 controls; `\p{Cs}` with the u flag matches only a lone surrogate.
const CONTROL = /[\u0000-\u001F\u007F-\u009F]|\p{Cs}/u;
// The same, with tab, line feed and carriage return allowed: notes have lines.
const CONTROL_IN_NOTE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|\p{Cs}/u;
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

function requireVisible(value: string, ctx: z.RefinementCtx) {
  if (!VISIBLE.test(value)) ctx.addIssue({ code: 'custom', message: 'must contain a visible character' });
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
