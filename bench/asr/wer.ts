/** Word error rate: the one definition, used by `npm run bench:asr` and by the recognition tests. */
/**
 * Splits text into comparable words: lower case, punctuation dropped (apostrophes inside words kept), whitespace
 * collapsed. Sentence markers such as `<s>` are removed.
 *
 * @example
 * normalizeWords("He said: <s> Don't GO! </s>"); // ['he', 'said', "don't", 'go']
 */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/<\/?s>/g, ' ')
    .replace(/[^\p{L}\p{N}'\s]+/gu, ' ')
    .replace(/(^|\s)'+|'+(?=\s|$)/g, ' ')
    .split(/\s+/)
    .filter((word) => word !== '');
}

/**
 * Word-level Levenshtein distance: substitutions + deletions + insertions to turn `reference` into `hypothesis`.
 *
 * @example
 * wordEditDistance(['a', 'b', 'c'], ['a', 'x', 'c', 'd']); // 2
 */
export function wordEditDistance(reference: readonly string[], hypothesis: readonly string[]): number {
  let previous = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= reference.length; i++) {
    const current = [i];
    for (let j = 1; j <= hypothesis.length; j++) {
      const substitution = (previous[j - 1] as number) + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, (previous[j] as number) + 1, (current[j - 1] as number) + 1));
    }
    previous = current;
  }
  return previous[hypothesis.length] as number;
}

/**
 * Word error rate of one hypothesis against its reference (0 is perfect; can exceed 1 with many insertions).
 *
 * @example
 * wordErrorRate('the cat sat', 'The cat sat.'); // 0
 */
export function wordErrorRate(reference: string, hypothesis: string): number {
  return corpusWordErrorRate([{ reference, hypothesis }]);
}

/**
 * WER over several utterances: total edits divided by total reference words (not the mean of per-clip rates).
 *
 * @example
 * corpusWordErrorRate([{ reference: 'a b', hypothesis: 'a' }, { reference: 'c d', hypothesis: 'c d' }]); // 0.25
 */
export function corpusWordErrorRate(pairs: ReadonlyArray<{ reference: string; hypothesis: string }>): number {
  let edits = 0;
  let words = 0;
  for (const { reference, hypothesis } of pairs) {
    const ref = normalizeWords(reference);
    edits += wordEditDistance(ref, normalizeWords(hypothesis));
    words += ref.length;
  }
  if (words === 0) throw new Error('WER needs at least one reference word');
  return edits / words;
}
