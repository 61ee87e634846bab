// One index fewer to write per order: conversions_report (0002) takes order_id third, so it
// also serves the order list's (ts, order_id) seek, and conversions_site_ts goes, as it did on
// PostgreSQL in its 0002. Rebuilding the index reads the table once.
export const up = `
DROP INDEX IF EXISTS conversions_report;
CREATE INDEX conversions_report ON conversions (site_id, ts, order_id, type, status, currency, event, link_code,
  link_affiliate, channel, source, utm_source, utm_medium, utm_campaign, tickets, value_minor, new_customer, scanned);
DROP INDEX IF EXISTS conversions_site_ts;
`;
