// What linktrail('conversion') and linktrail('event') take and send.

export interface ConversionItem {
  type: string;
  qty: number;
  /** Unit price in major units, e.g. "45.00". */
  price: number | string;
}

export interface ConversionInput {
  /** Unique per site: the collector counts an order once however often it arrives. */
  order: string;
  /** Major units as a decimal string or number, e.g. "45.00". */
  value?: number | string;
  /** ISO 4217 code; default: the site's currency. */
  currency?: string;
  /** The event sold; default: the page's data-event. */
  event?: string;
  /** Default "purchase". */
  type?: string;
  items?: ConversionItem[];
  tickets?: number;
  /** A stable key for the buyer (e.g. a hash of their email), to count new customers. */
  customer?: string;
}

/** Props of linktrail('event', name, props): a conversion whose order may be left out. */
export type EventProps = Partial<ConversionInput> & Record<string, unknown>;

/** What linktrail('conversion') and linktrail('event') POST to /collect. */
export interface ConversionHit extends ConversionInput {
  kind: 'conversion';
  site: string;
  vid: string;
  /** The last touch's click id. */
  cid?: string;
}

/**
 * The confirmation page's pixel with the visitor and click id the script knows (SPEC §5: "vid/cid
 * params added by the script's helper"), for a collector the lt_vid cookie cannot reach (another
 * site's): `img.src = pixelUrl('https://t.example.com', 'acme', order, info)` with `info` from
 * linktrail('ready'). Items go as repeated `item=TYPE:QTY:PRICE`.
 */
export function pixelUrl(api: string, site: string, c: ConversionInput, who?: { vid?: string | null; clickId?: string | null }): string {
  const q = new URLSearchParams({ site, order: c.order });
  const add = (k: string, v: unknown) => v != null && v !== '' && q.append(k, String(v));
  add('value', c.value);
  add('currency', c.currency);
  add('event', c.event);
  add('type', c.type);
  add('tickets', c.tickets);
  add('customer', c.customer);
  for (const i of c.items ?? []) add('item', `${i.type}:${i.qty}:${i.price}`);
  add('vid', who?.vid);
  add('cid', who?.clickId);
  return `${api.replace(/\/+$/, '')}/p.gif?${q}`;
}
