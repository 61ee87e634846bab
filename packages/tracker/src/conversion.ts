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
