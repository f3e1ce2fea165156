/**
 * Chinese-aware tokenisation for the knowledge base's full-text index.
 *
 * @remarks
 * Words come from Node's own ICU word segmenter (`Intl.Segmenter('zh', { granularity: 'word' })`,
 * a dictionary-based segmenter built into Node 20's full ICU: no package, no native code). Its
 * dictionary knows common words (养老|保险|待遇|领取) but splits abbreviations and officialese into
 * single characters (社保卡 → 社|保|卡), so every run of Chinese characters also yields its
 * character bigrams (社保, 保卡) at a lower weight: a query for 社保 then finds 社保卡, and a query
 * for 养老金 finds 养老保险 through 养老. Latin words and numbers (12333, ETC) are lower-cased words.
 * Single Chinese characters are not indexed (的, 在, 办 would match everything).
 */
const SEGMENTER = new Intl.Segmenter('zh', { granularity: 'word' });
const CJK_RUN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/gu;
const CJK = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/u;

/** Weight of a segmenter word and of a bigram. */
export const WORD_WEIGHT = 1;
export const BIGRAM_WEIGHT = 0.5;

/** Term → weight (summed over occurrences) of a text. */
export function terms(text: string, into: Map<string, number> = new Map(), scale = 1): Map<string, number> {
  if (!text) return into;
  const t = text.normalize('NFKC').toLowerCase();
  const add = (term: string, w: number): void => {
    into.set(term, (into.get(term) ?? 0) + w * scale);
  };
  for (const s of SEGMENTER.segment(t)) {
    if (!s.isWordLike) continue;
    const w = s.segment;
    if (CJK.test(w)) {
      if ([...w].length >= 2) add(w, WORD_WEIGHT);
    } else if (/^[\p{L}\p{N}][\p{L}\p{N}._-]*$/u.test(w)) add(w, WORD_WEIGHT);
  }
  for (const m of t.matchAll(CJK_RUN)) {
    const chars = [...m[0]];
    for (let i = 0; i + 1 < chars.length; i++) add(`${chars[i]}${chars[i + 1]}`, BIGRAM_WEIGHT);
  }
  return into;
}
