// Promoters recruit sub-promoters. The organiser's by=affiliate report shows each
// affiliate's own figures and, in `team`, the figures of the affiliate and everyone below.
import { emptyRow, ratio, type ReportRow } from './report.js';
import type { Affiliate } from './store.js';

const SUMMED = ['visits', 'clicks', 'previews', 'orders', 'tickets', 'new_customers', 'scanned', 'unscanned'] as const;

/** The top of an affiliate's team: the ancestor the organiser invited (itself when it has no parent). */
export function teamRoot(id: string, affiliates: Affiliate[]): string {
  const parents = new Map(affiliates.map((a) => [a.id, a.parent]));
  const seen = new Set<string>();
  let at = id;
  for (let up = parents.get(at); up && !seen.has(up); up = parents.get(at)) {
    seen.add(at);
    at = up;
  }
  return at;
}

/** The ids of an affiliate and everyone recruited under it, at any depth. */
export function teamOf(id: string, affiliates: Affiliate[]): Set<string> {
  const team = new Set([id]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const a of affiliates) {
      if (a.parent && team.has(a.parent) && !team.has(a.id)) {
        team.add(a.id);
        grew = true;
      }
    }
  }
  return team;
}

export type TeamRow = ReportRow & { parent: string | null; team: Omit<ReportRow, 'key' | 'keys' | 'visitors' | 'conversion_rate'> };

/** Adds parent and team figures to by=affiliate rows, adding a row for a parent with none of its own. */
export function withTeams(rows: ReportRow[], affiliates: Affiliate[]): ReportRow[] {
  const byId = new Map(rows.map((r) => [r.key ?? null, r]));
  const parents = new Map(affiliates.map((a) => [a.id, a.parent]));
  // Every ancestor of a row gets a row, so the roll-up has somewhere to live.
  for (const r of rows) {
    for (let p = r.key ? parents.get(r.key) : null; p; p = parents.get(p) ?? null) {
      if (!byId.has(p)) {
        const empty = { key: p, ...emptyRow() };
        byId.set(p, empty);
        rows = [...rows, empty];
      }
    }
  }
  return rows.map((row) => {
    if (!row.key || !parents.has(row.key)) return row;
    const { visitors: _v, conversion_rate: _c, key: _k, ...team } = { ...emptyRow(), key: null };
    for (const id of teamOf(row.key, affiliates)) {
      const member = byId.get(id);
      if (!member) continue;
      for (const f of SUMMED) team[f] += member[f];
      for (const [cur, minor] of Object.entries(member.revenue)) team.revenue[cur] = (team.revenue[cur] ?? 0) + minor;
      for (const [goal, count] of Object.entries(member.conversions)) team.conversions[goal] = (team.conversions[goal] ?? 0) + count;
    }
    team.attendance_rate = ratio(team.scanned, team.tickets);
    return { ...row, parent: parents.get(row.key) ?? null, team } as TeamRow;
  });
}
