/**
 * Figures and survivors from Stryker's JSON reports (mutation-testing-report-schema), for
 * `npm run mutate` (test/mutation/mutate.mjs) and docs/mutation-testing.md.
 *
 * The score is Stryker's: (killed + timed out) / (killed + timed out + survived + no coverage);
 * ignored mutants (a `Stryker disable` directive with its reason) are counted apart.
 *
 * A survivor is *explained* when the code says why it is equivalent: a comment naming Stryker on
 * the mutant's line, or a whole-line comment naming it in the lines just above (up to
 * {@link REASON_WINDOW} lines, not past a blank line), so a comment heads the statement or the
 * short block it speaks for. A block's mutant (`{}`) may also be explained by the trailing
 * comment of the block's first line. Any other survivor is *unexplained*, and `npm run mutate`
 * fails on it.
 */

/** How far above a mutant a `Stryker:` comment may stand and still speak for it. */
export const REASON_WINDOW = 12;

/**
 * @typedef {{ killed: number, timeout: number, survived: number, noCoverage: number, ignored: number, errors: number }} Counts
 * @typedef {{ file: string, line: number, mutator: string, replacement: string, status: string, reason?: { line: number, text: string } }} Survivor
 */

/** @returns {Counts} */
export function emptyCounts() {
  return { killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0, errors: 0 };
}

/** @param {Counts} c @returns {number | undefined} the score in percent, or undefined with nothing to score */
export function score(c) {
  const detected = c.killed + c.timeout;
  const valid = detected + c.survived + c.noCoverage;
  return valid === 0 ? undefined : (100 * detected) / valid;
}

/** @param {Counts} into @param {Counts} c */
export function addCounts(into, c) {
  for (const k of Object.keys(into)) into[k] += c[k];
  return into;
}

/**
 * The counts and survivors of one report, per file.
 * @param {any} report a Stryker JSON report
 * @returns {Map<string, { counts: Counts, survivors: Survivor[] }>}
 */
export function summarize(report) {
  const out = new Map();
  for (const [file, entry] of Object.entries(report.files ?? {})) {
    const counts = emptyCounts();
    const survivors = [];
    const lines = String(entry.source ?? '').split('\n');
    for (const m of entry.mutants ?? []) {
      switch (m.status) {
        case 'Killed':
          counts.killed++;
          break;
        case 'Timeout':
          counts.timeout++;
          break;
        case 'Ignored':
          counts.ignored++;
          break;
        case 'Survived':
        case 'NoCoverage': {
          if (m.status === 'Survived') counts.survived++;
          else counts.noCoverage++;
          const line = m.location.start.line;
          const s = { file, line, mutator: m.mutatorName, replacement: m.replacement ?? '', status: m.status };
          // A block's mutant (`{}`) starts on the line that opens it: its reason may be the
          // trailing comment of the block's first line, where the code it empties is.
          const reason = reasonFor(lines, line) ?? (m.mutatorName === 'BlockStatement' ? trailingReason(lines, line + 1) : undefined);
          survivors.push(reason ? { ...s, reason } : s);
          break;
        }
        default:
          // CompileError, RuntimeError: not a verdict on the tests; counted so none goes unseen.
          counts.errors++;
      }
    }
    out.set(file, { counts, survivors });
  }
  return out;
}

/**
 * The comment that explains a mutant on `line` (1-based), if any.
 * @param {string[]} lines @param {number} line
 * @returns {{ line: number, text: string } | undefined}
 */
export function reasonFor(lines, line) {
  for (let i = line - 1; i >= 0 && i >= line - 1 - REASON_WINDOW; i--) {
    // On the mutant's own line a trailing comment counts; above it only a whole-line comment
    // does, so one line's trailing reason never speaks for the next line's mutants.
    if (i === line - 1) {
      const own = trailingReason(lines, line);
      if (own) return own;
      continue;
    }
    const text = lines[i] ?? '';
    if (text.trim() === '') return undefined;
    if (/^\s*(\/\/|\/\*|\*).*Stryker/.test(text)) return { line: i + 1, text: text.trim() };
  }
  return undefined;
}

/**
 * A trailing comment naming Stryker on `line` (1-based), if any.
 * @param {string[]} lines @param {number} line
 * @returns {{ line: number, text: string } | undefined}
 */
export function trailingReason(lines, line) {
  const text = lines[line - 1] ?? '';
  const at = text.search(/(\/\/|\/\*).*Stryker/);
  return at > 0 && text.slice(0, at).trim() !== '' ? { line, text: text.slice(at).trim() } : undefined;
}

/** @param {number | undefined} s */
export function formatScore(s) {
  return s === undefined ? 'n/a' : `${s.toFixed(1)} %`;
}

/**
 * A markdown table row: file, killed, timed out, survived, no coverage, ignored, score.
 * @param {string} name @param {Counts} c @param {string} [extra]
 */
export function tableRow(name, c, extra = '') {
  return `| ${name} | ${c.killed} | ${c.timeout} | ${c.survived} | ${c.noCoverage} | ${c.ignored} | ${formatScore(score(c))} |${extra}`;
}
