import { describe, expect, it } from 'vitest';
import { corpusWordErrorRate, normalizeWords, wordEditDistance, wordErrorRate } from '../../../fixtures/wer.js';

// The WER helper the pipeline tests use to score pocketsphinx against the LibriVox references.
describe('word error rate', () => {
  it('normalises case, punctuation and sentence markers', () => {
    expect(normalizeWords("<s> He said: Don't GO!  'Now' </s>")).toEqual(['he', 'said', "don't", 'go', 'now']);
    expect(normalizeWords('  ')).toEqual([]);
  });

  it('counts substitutions, deletions and insertions', () => {
    expect(wordEditDistance(['a', 'b', 'c'], ['a', 'b', 'c'])).toBe(0);
    expect(wordEditDistance(['a', 'b', 'c'], ['a', 'x', 'c'])).toBe(1);
    expect(wordEditDistance(['a', 'b', 'c'], ['a', 'c'])).toBe(1);
    expect(wordEditDistance(['a', 'b'], ['a', 'b', 'c', 'd'])).toBe(2);
    expect(wordEditDistance([], ['a'])).toBe(1);
    expect(wordEditDistance(['a', 'b'], [])).toBe(2);
    expect(wordEditDistance(['kitten', 'sat', 'on', 'mat'], ['sitting', 'sat', 'mat', 'now'])).toBe(3);
  });

  it('divides edits by reference words', () => {
    expect(wordErrorRate('The cat sat.', 'the cat sat')).toBe(0);
    expect(wordErrorRate('he was not an ill disposed young man', 'he was not an illness those young man')).toBeCloseTo(
      2 / 8,
    );
    expect(wordErrorRate('a b', 'x y z w')).toBe(2);
  });

  it('pools a corpus by total words, not by averaging clips', () => {
    expect(
      corpusWordErrorRate([
        { reference: 'a b', hypothesis: 'a' },
        { reference: 'c d e f g h', hypothesis: 'c d e f g h' },
      ]),
    ).toBeCloseTo(1 / 8);
    expect(() => corpusWordErrorRate([{ reference: '', hypothesis: 'a' }])).toThrow();
  });
});
