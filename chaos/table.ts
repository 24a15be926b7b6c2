/** The chaos table: one row per scenario and system (Markdown, so it goes into the README as printed). */
import type { Row } from './scenarios';

export function formatTable(rows: Row[]): string {
  const head = ['scenario', 'system', 'faults injected', 'records checked', 'lost', 'duplicated (Aurora / external)', 'version inflation', 'events missing / spurious', 'redelivered (same event_id)', 'time to recover', 'result'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i >= 3 && i <= 9 ? '---:' : '---')).join('|')}|`];
  const notes: string[] = [];
  for (const r of rows) {
    const v = r.verdict;
    const cells = [
      r.scenario,
      r.system,
      `${r.faults}${r.faultCount ? ` (${r.faultCount})` : ''}${r.workerCrashes ? `; worker exited by itself ${r.workerCrashes}x (restarted)` : ''}`,
      v ? v.checked.toLocaleString('en') : '—',
      v ? `${v.lost}${v.lostUpdates ? ` + ${v.lostUpdates} updates` : ''}${v.mismatched ? ` (${v.mismatched} differ)` : ''}` : '—',
      v ? `${v.duplicatedAurora} / ${v.duplicatedExternal}` : '—',
      v ? (v.versionInflated ? `${v.versionInflated} records (+${v.versionExcess})` : v.versionShort ? `0 (${v.versionShort} short)` : '0') : '—',
      v ? `${v.eventsMissing} / ${v.eventsSpurious} of ${v.eventsExpected.toLocaleString('en')}${v.eventsMislabelled ? ` (${v.eventsMislabelled} with another action)` : ''}` : '—',
      v ? `${v.eventsRedelivered}${v.eventsRepeated > v.eventsRedelivered ? ` (+${v.eventsRepeated - v.eventsRedelivered} re-announced)` : ''}` : '—',
      r.recoverSeconds === null ? (v ? 'not recovered' : '—') : `${r.recoverSeconds} s`,
      r.error ? `**error**` : v?.ok ? 'ok' : '**NOT OK**',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
    const extra = [...r.notes, ...(r.error ? [`error: ${r.error}`] : []), ...(v && !v.ok ? v.samples.slice(0, 8) : [])];
    if (v && v.outboxPending) extra.push(`${v.outboxPending} events still in the outbox`);
    if (extra.length) notes.push(`- ${r.scenario}, ${r.system}: ${extra.join('; ')}`);
  }
  return [...lines, '', ...notes].join('\n');
}
