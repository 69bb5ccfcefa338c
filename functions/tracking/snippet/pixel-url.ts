// Segment-style tracking pixel URLs (`GET /v1/pixel/{type}?data=...`) for emails and pages that run no JavaScript.

/** The calls a pixel can make. */
export type PixelType = 'page' | 'track' | 'identify';

export interface PixelUrlOptions {
  /** Origin (and optional path prefix) of the tracking API; a trailing slash is ignored. */
  readonly apiHost: string;
  readonly writeKey: string;
  readonly type: PixelType;
  /** The Segment call's fields (`event`, `userId`, `properties`, ...). A `writeKey` in it is replaced. */
  readonly event?: Readonly<Record<string, unknown>>;
}

/** The `<img src>` for one pixel call: the event and write key as base64url JSON in the `data` parameter. */
export function pixelUrl(options: PixelUrlOptions): string {
  const payload = { ...options.event, writeKey: options.writeKey };
  const data = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${options.apiHost.replace(/\/+$/, '')}/v1/pixel/${options.type}?data=${data}`;
}
