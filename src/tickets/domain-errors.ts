/**
 * Errors of the pure ticket domain: a stable code, the field at fault (when
 * one is) and a bilingual message that names it. The HTTP layer maps these to
 * its own catalogue once; the domain never imports HTTP.
 */

export type TicketErrorCode =
  | 'invalid-input'
  | 'illegal-transition'
  | 'return-window-closed'
  | 'return-after-review'
  | 'extension-too-long'
  | 'extension-consent-missing'
  | 'extension-not-allowed'
  | 'planned-too-long'
  | 'reopen-not-allowed'
  | 'close-incomplete'
  | 'no-deadline-rule'
  | 'unknown-unit';

export interface TicketError {
  code: TicketErrorCode;
  /** The input field at fault, as a path (`action.reason`, `rules[2].keywords[0]`). */
  field?: string;
  message: string;
}

export function ticketError(code: TicketErrorCode, message: string, field?: string): TicketError {
  return field === undefined ? { code, message } : { code, field, message };
}

/** A validation error list, each naming its field path. */
export type FieldErrors = TicketError[];

export function invalid(field: string, message: string): TicketError {
  return { code: 'invalid-input', field, message: `${field}: ${message}` };
}

/** Thrown by constructors of validated data (calendar, policies, rules) when given bad data. */
export class DomainDataError extends Error {
  constructor(
    readonly what: string,
    readonly errors: FieldErrors,
  ) {
    super(`${what} is invalid: ${errors.map((e) => e.message).join('; ')}`);
    this.name = 'DomainDataError';
  }
}
