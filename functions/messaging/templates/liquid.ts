// The one Liquid configuration for email templates: save-time validation and send-time rendering both use it.
import { Liquid, Tag, type TagToken } from 'liquidjs';

/**
 * Wall-clock budget of one render call. A send batch renders thousands of messages; a template that loops for
 * ever (or a trait that makes it loop) must cost one failed message, not a Lambda timeout for the whole batch.
 */
export const RENDER_LIMIT_MS = 200;

/** Characters parsed per call: an HTML part is at most 400 KB after MJML, so 1 M leaves room without inviting abuse. */
const PARSE_LIMIT_CHARS = 1_000_000;

/** Allocation units (range sizes, string growth in filters) per render: a few MB of output at most. */
const MEMORY_LIMIT = 10_000_000;

/** `html` escapes every output (use `| raw` to opt out); `plain` is for subject, preheader and text parts. */
export type LiquidOutput = 'html' | 'plain';

/** Templates are self-contained documents: a tag that reads another template would reach for the filesystem. */
const FILE_TAGS = ['include', 'render', 'layout'] as const;

class UnavailableFileTag extends Tag {
  constructor(token: TagToken, remainTokens: ConstructorParameters<typeof Tag>[1], liquid: Liquid) {
    super(token, remainTokens, liquid);
    throw new Error(
      `tag "${token.name}" is not available in email templates; put the content in the template`,
    );
  }

  render(): never {
    throw new Error('unreachable: file tags never parse');
  }
}

export function createLiquidEngine(output: LiquidOutput): Liquid {
  const engine = new Liquid({
    ...(output === 'html' ? { outputEscape: 'escape' as const } : {}),
    // Traits come from tracked events: never let a template walk into Object.prototype through them.
    ownPropertyOnly: true,
    // A misspelt filter must fail when the template is saved, not print the raw value to thousands of people.
    strictFilters: true,
    // A missing trait renders empty so `| default: "there"` works and one incomplete profile never fails a batch.
    strictVariables: false,
    jsTruthy: false,
    // Report every syntax error of a part at once, so an operator fixes a template in one round.
    catchAllErrors: true,
    parseLimit: PARSE_LIMIT_CHARS,
    renderLimit: RENDER_LIMIT_MS,
    memoryLimit: MEMORY_LIMIT,
    // An in-memory, empty template map: no lookup can ever reach the disk, even if a file tag slipped through.
    templates: {},
    // Lambda runs in UTC; fix date output so a local run renders exactly what production sends.
    timezoneOffset: 0,
    locale: 'en-US',
  });
  for (const name of FILE_TAGS) engine.registerTag(name, UnavailableFileTag);
  return engine;
}

/** Messages of a Liquid error, flattening the list `catchAllErrors` produces. */
export function liquidErrorMessages(error: unknown): string[] {
  if (!(error instanceof Error)) return [String(error)];
  const nested: unknown = Reflect.get(error, 'errors');
  if (Array.isArray(nested) && nested.length > 0) return nested.flatMap(liquidErrorMessages);
  return [error.message];
}
