/**
 * Masking helpers for card numbers, emails and phone numbers in display
 * and logs. Pure string functions; no keys.
 * Every helper takes a string (anything else is ERR_ARGUMENT) and replaces
 * hidden characters with '*', one '*' per character, keeping the layout.
 *
 * mask.card(s): if s is only digits, spaces and '-' with 12..19 digits,
 *   every digit but the last 4 becomes '*' and separators stay:
 *   '4111111111111111' -> '************1111',
 *   '4111 1111 1111 1111' -> '**** **** **** 1111'.
 *   Anything else (other characters, fewer than 12 or more than 19 digits)
 *   reveals nothing: every character except spaces and '-' becomes '*'.
 *
 * mask.email(s): with exactly one '@', a non-empty local part and a domain
 *   containing a '.' (no spaces): the first character of the local part is
 *   kept, the rest of it masked, the domain kept:
 *   'alice@example.com' -> 'a****@example.com'; a one-character local part
 *   is fully masked ('a@x.io' -> '*@x.io'). Anything else: every character
 *   becomes '*'. Characters are counted as code points.
 *
 * mask.phone(s): if s is digits with optional separators (space . - ( ))
 *   and an optional leading '+', with 7..15 digits in all: a country code,
 *   i.e. the 1..3 digits after a leading '+' followed by a separator, is
 *   kept with its '+'; of the remaining digits the last 4 are kept when
 *   there are at least 10 of them, else the last 2; other digits become
 *   '*' and separators stay:
 *   '+1 415 555 0199' -> '+1 *** *** 0199', '+44 20 7946 0958' ->
 *   '+44 ** **** 0958', '555-0199' -> '***-**99' (7 digits: last 2).
 *   Anything else: every character except spaces becomes '*'.
 */
import { TesseraError } from '../errors';
import { describe } from '../format';

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new TesseraError('ERR_ARGUMENT', `mask.${what} needs a string (got ${describe(v)})`);
  return v;
}

/** Masks every digit except the last `keep` ones, starting at index `from`. */
function keepLastDigits(s: string, keep: number, from = 0): string {
  let digits = 0;
  for (let i = from; i < s.length; i++) if (s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) digits++;
  let seen = 0;
  let out = s.slice(0, from);
  for (let i = from; i < s.length; i++) {
    const c = s[i]!;
    if (c >= '0' && c <= '9') out += seen++ < digits - keep ? '*' : c;
    else out += c;
  }
  return out;
}

const digitCount = (s: string) => s.replace(/\D/g, '').length;

function card(value: string): string {
  const s = str(value, 'card');
  const d = digitCount(s);
  if (/^[0-9 -]+$/.test(s) && d >= 12 && d <= 19) return keepLastDigits(s, 4);
  return s.replace(/[^ -]/g, '*');
}

function email(value: string): string {
  const s = str(value, 'email');
  const at = s.indexOf('@');
  const ok = at > 0 && at === s.lastIndexOf('@') && !/\s/.test(s) && /^[^.]+(\.[^.]+)+$/.test(s.slice(at + 1));
  if (!ok) return '*'.repeat(Array.from(s).length);
  const local = Array.from(s.slice(0, at));
  const shown = local.length > 1 ? local[0]! + '*'.repeat(local.length - 1) : '*';
  return shown + s.slice(at);
}

function phone(value: string): string {
  const s = str(value, 'phone');
  const d = digitCount(s);
  if (!/^\+?[0-9 .()-]+$/.test(s) || d < 7 || d > 15) return s.replace(/[^ ]/g, '*');
  const cc = /^\+([0-9]{1,3})[ .()-]/.exec(s);
  const from = cc ? cc[1]!.length + 1 : 0;
  const rest = d - (cc ? cc[1]!.length : 0);
  return keepLastDigits(s, rest >= 10 ? 4 : 2, from);
}

/** Masking helpers (see the rules above). */
export const mask = { card, email, phone };
