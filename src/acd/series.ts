/**
 * Today's queue figures by quarter hour (the wallboard's chart): calls offered,
 * answered and abandoned in each quarter, its answer rate and the day's so far,
 * and the most callers waiting at once — for the whole centre and per line.
 *
 * @remarks
 * Pure: the Redis scripts keep `series:<yyyymmdd>` (see redis-acd.ts); this
 * turns that hash into arrays, one value per quarter hour from local midnight.
 * Quarters are local (the city's) time, as the day of the statistics is.
 */

export const QUARTER_MS = 15 * 60_000;
export const QUARTERS_PER_DAY = 96;
/** 接通率 target of the policy: at least 98 % of the calls answered. */
export const ANSWER_RATE_TARGET = 0.98;

export interface LineSeries {
  offered: number[];
  answered: number[];
  abandoned: number[];
  /** answered / (answered + abandoned) of the quarter; null when no call was answered or abandoned in it. */
  answerRate: (number | null)[];
  /** The same from midnight to the end of the quarter; null until a call was answered or abandoned. */
  answerRateSoFar: (number | null)[];
  /** The most callers waiting at once during the quarter (callers who asked for a call back not counted). */
  queueMax: number[];
}

export interface DaySeries {
  /** Local calendar day, YYYY-MM-DD. */
  day: string;
  /** Epoch ms of the day's local midnight (the first quarter's start). */
  from: number;
  quarterMs: number;
  /** Quarters with data so far: up to and including the current one today, 96 for a past day. */
  quarters: number;
  target: number;
  all: LineSeries;
  lines: Record<string, LineSeries>;
}

/** The local quarter hour (0-95) of an instant, `utcOffsetMin` east of UTC. */
export function quarterOf(at: number, utcOffsetMin: number): number {
  const local = at + utcOffsetMin * 60_000;
  const inDay = ((local % 86_400_000) + 86_400_000) % 86_400_000;
  return Math.floor(inDay / QUARTER_MS);
}

function emptyLine(n: number): LineSeries {
  const zeros = () => new Array<number>(n).fill(0);
  return { offered: zeros(), answered: zeros(), abandoned: zeros(), answerRate: [], answerRateSoFar: [], queueMax: zeros() };
}

/** Fill the rates from the counts. */
function rates(s: LineSeries): LineSeries {
  let answered = 0;
  let settled = 0;
  s.answerRate = s.answered.map((a, i) => {
    const n = a + s.abandoned[i]!;
    answered += a;
    settled += n;
    return n > 0 ? a / n : null;
  });
  answered = 0;
  settled = 0;
  s.answerRateSoFar = s.answered.map((a, i) => {
    answered += a;
    settled += a + s.abandoned[i]!;
    return settled > 0 ? answered / settled : null;
  });
  return s;
}

/**
 * The series of one day from its raw hash (`<counter>|<dimension>|<quarter>` → count).
 * `quarters` cuts the day (today: the quarters so far); fields beyond it are ignored.
 */
export function buildSeries(raw: Record<string, string>, day: { day: string; from: number; quarters: number }): DaySeries {
  const n = Math.max(0, Math.min(QUARTERS_PER_DAY, day.quarters));
  const all = emptyLine(n);
  const lines: Record<string, LineSeries> = {};
  for (const [key, value] of Object.entries(raw)) {
    const [counter, dim, q] = key.split('|');
    const i = Number(q);
    if (!counter || !dim || !Number.isInteger(i) || i < 0 || i >= n) continue;
    const target = dim === 'all' ? all : dim.startsWith('line:') ? (lines[dim.slice(5)] ??= emptyLine(n)) : undefined;
    if (!target) continue;
    const v = Number(value) || 0;
    if (counter === 'offered') target.offered[i] = v;
    else if (counter === 'answered') target.answered[i] = v;
    else if (counter === 'abandoned') target.abandoned[i] = v;
    else if (counter === 'queue') target.queueMax[i] = v;
  }
  rates(all);
  for (const s of Object.values(lines)) rates(s);
  return { day: day.day, from: day.from, quarterMs: QUARTER_MS, quarters: n, target: ANSWER_RATE_TARGET, all, lines };
}
