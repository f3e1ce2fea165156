/**
 * Repeat requests (重复诉求): the same caller with the same handling unit and
 * category within N days is one matter raised again. The seeds ask centres to
 * handle 无理重复诉求 by rule and to count repeats; we link the later ticket to
 * the first one of the chain (`repeatOf`) and count the links in the KPIs.
 *
 * Pure: the caller's earlier tickets are passed in.
 */
import type { Ticket } from './model.js';

export const DAY_MS = 86_400_000;

/**
 * The ticket `t` repeats, if any: among `earlier` (the same caller's other
 * tickets, any order), one received within `windowDays` before `t`, with the
 * same category and a handling unit in common (received at the same instant:
 * the lower, i.e. earlier, ticket number). The newest such ticket wins,
 * and the link points at the root of its chain (its own `repeatOf`, if it has
 * one), so every repeat names the first request.
 */
export function findRepeatOf(t: Ticket, earlier: readonly Ticket[], windowDays: number): string | undefined {
  if (windowDays <= 0 || t.units.length === 0) return undefined;
  const from = t.receivedAt - windowDays * DAY_MS;
  const match = earlier
    .filter(
      (e) =>
        e.ticketNo !== t.ticketNo &&
        e.callerNumber === t.callerNumber &&
        e.category === t.category &&
        (e.receivedAt < t.receivedAt || (e.receivedAt === t.receivedAt && e.ticketNo < t.ticketNo)) &&
        e.receivedAt >= from &&
        e.repeatOf !== t.ticketNo &&
        e.units.some((u) => t.units.includes(u)),
    )
    .sort((a, b) => b.receivedAt - a.receivedAt)[0];
  if (!match) return undefined;
  return match.repeatOf ?? match.ticketNo;
}
