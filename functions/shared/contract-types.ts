// The shape of one documented HTTP operation; each capability lists its own in a contract module.

export interface Operation {
  readonly method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  readonly path: string;
  readonly summary: string;
  readonly auth: 'admin' | 'writeKey' | 'none';
  /** Component schema name of the JSON body. */
  readonly body?: string;
  /** Media types of a body that is a file as text (CSV, JSON Lines) rather than JSON. */
  readonly bodyMediaTypes?: readonly string[];
  /** status → component schema name, or a media type (`image/gif`, `text/html`, ...) for non-JSON answers. */
  readonly responses: Readonly<Record<string, string>>;
  readonly parameters?: ReadonlyArray<{
    name: string;
    in: 'path' | 'query';
    required: boolean;
    description: string;
  }>;
}
