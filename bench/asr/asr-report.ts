/** One clip's score. */
export interface AsrClipResult {
  readonly id: string;
  readonly durationSec: number;
  readonly processingSec: number;
  readonly referenceWords: number;
  /** Word error rate of this clip (0 is perfect). */
  readonly wer: number;
  /** Real-time factor: processing seconds per second of audio. */
  readonly rtf: number;
  readonly reference: string;
  readonly hypothesis: string;
}

/** What `npm run bench:asr` writes to bench/results/asr-latest.json. */
export interface AsrReport {
  readonly finishedAt: string;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly node: string };
  readonly engine: { readonly name: string; readonly model: string | null };
  readonly corpus: string;
  /** `wer` is corpus-level (total edits / total reference words), `rtf` total processing / total audio. */
  readonly totals: {
    readonly clips: number;
    readonly audioSec: number;
    readonly processingSec: number;
    readonly wer: number;
    readonly rtf: number;
  };
  readonly clips: readonly AsrClipResult[];
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/**
 * The report as Markdown: a summary line and one row per clip, with what the engine heard.
 *
 * @example
 * writeFileSync('bench/results/asr-latest.md', asrMarkdown(report));
 */
export function asrMarkdown(report: AsrReport): string {
  const t = report.totals;
  return [
    `# Speech recognition: ${report.engine.name}${report.engine.model ? ` (${report.engine.model})` : ''}`,
    '',
    `${report.finishedAt}, ${report.machine.cores} × ${report.machine.cpu}, Node ${report.machine.node}; corpus ${report.corpus}.`,
    '',
    `**WER ${pct(t.wer)}** over ${t.clips} clips (${t.audioSec.toFixed(1)} s of audio); **real-time factor ${t.rtf.toFixed(2)}** ` +
      `(${t.processingSec.toFixed(1)} s of processing).`,
    '',
    '| clip | audio s | words | WER | RTF | heard |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...report.clips.map(
      (c) =>
        `| ${c.id} | ${c.durationSec.toFixed(1)} | ${c.referenceWords} | ${pct(c.wer)} | ${c.rtf.toFixed(2)} | ${c.hypothesis.replace(/\|/g, '\\|')} |`,
    ),
    '',
  ].join('\n');
}
