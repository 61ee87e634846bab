// Attribution is decided once, when a conversion is recorded, and stored with its reason.
// Pure: the store hands over the visitor's candidates; this picks the winners.
import type { Channel } from '@linktrail/tracker';

const DAY = 86_400_000;

export interface ClickCandidate {
  cid: string;
  ts: number;
  code: string;
  /** The code's registered affiliate and event scope (null when common or unregistered). */
  affiliate: string | null;
  codeEvent: string | null;
}

export interface VisitCandidate {
  ts: number;
  channel: Channel;
  source: string | null;
  cid: string | null;
  touch: boolean;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
}

export interface AttributionInput {
  ts: number;
  event: string | null;
  windowDays: number;
  /** Newest first. */
  clicks: ClickCandidate[];
  /** Newest first. */
  visits: VisitCandidate[];
}

export type Verdict = 'won' | 'earlier' | 'outside_window' | 'other_event' | 'not_a_touch';

export interface Candidate {
  kind: 'click' | 'touch' | 'visit';
  ts: number;
  cid: string | null;
  code?: string;
  channel?: Channel;
  source?: string | null;
  verdict: Verdict;
}

export interface Attribution {
  link: { code: string; affiliate: string | null; cid: string; ts: number } | null;
  channel: Channel | 'unattributed';
  source: string | null;
  utm: { source: string | null; medium: string | null; campaign: string | null };
  /** link rule and channel rule, e.g. "link:last_click channel:last_touch". */
  rule: string;
  candidates: Candidate[];
}

export function attribute(input: AttributionInput): Attribution {
  const since = input.ts - input.windowDays * DAY;
  const inWindow = (ts: number) => ts >= since && ts <= input.ts;
  const candidates: Candidate[] = [];

  // Link attribution: the latest click on an eligible code. A conversion that names no
  // event accepts any code; one that does accepts common codes and that event's codes.
  let link: Attribution['link'] = null;
  for (const c of input.clicks) {
    const eligibleEvent = !c.codeEvent || !input.event || c.codeEvent === input.event;
    const verdict: Verdict = !inWindow(c.ts)
      ? 'outside_window'
      : !eligibleEvent
        ? 'other_event'
        : link
          ? 'earlier'
          : 'won';
    if (verdict === 'won') link = { code: c.code, affiliate: c.affiliate, cid: c.cid, ts: c.ts };
    candidates.push({ kind: 'click', ts: c.ts, cid: c.cid, code: c.code, verdict });
  }

  // Channel attribution: the latest touch in the window, else the latest visit in it.
  const touch = input.visits.find((v) => v.touch && inWindow(v.ts));
  const visit = touch ?? input.visits.find((v) => inWindow(v.ts));
  for (const v of input.visits) {
    const verdict: Verdict =
      v === visit ? 'won' : !inWindow(v.ts) ? 'outside_window' : !v.touch && touch ? 'not_a_touch' : 'earlier';
    candidates.push({ kind: v.touch ? 'touch' : 'visit', ts: v.ts, cid: v.cid, channel: v.channel, source: v.source, verdict });
  }

  return {
    link,
    channel: visit ? visit.channel : 'unattributed',
    source: visit ? visit.source : null,
    utm: {
      source: visit?.utmSource ?? null,
      medium: visit?.utmMedium ?? null,
      campaign: visit?.utmCampaign ?? null,
    },
    rule: `link:${link ? 'last_click' : 'none'} channel:${touch ? 'last_touch' : visit ? 'last_visit' : 'unattributed'}`,
    candidates,
  };
}
