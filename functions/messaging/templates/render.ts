// Sending a template: Liquid per recipient, then UTM tags, signed click and open tracking and one-click unsubscribe.
import type { Liquid, Template } from 'liquidjs';
import { addressHash } from '../address.ts';
import type { RenderContext, TemplateVersion } from '../model.ts';
import type { TokenSigner } from '../tokens.ts';
import { createLiquidEngine, liquidErrorMessages } from './liquid.ts';

export interface RenderInput {
  readonly template: TemplateVersion;
  readonly context: RenderContext;
  readonly messageId: string;
  readonly profileId: string;
  /** The address the message goes to; only its hash ends up in the unsubscribe link. */
  readonly recipient: string;
  /** Base URL of the API that serves /e/o, /e/c and /e/u, with or without a trailing slash. */
  readonly trackingBaseUrl: string;
  readonly signer: TokenSigner;
  /** utm_campaign of every link. */
  readonly campaign: string;
  /** utm_source of every link. */
  readonly utmSource: string;
  readonly track: { readonly opens: boolean; readonly clicks: boolean };
}

export interface MessageHeader {
  readonly name: string;
  readonly value: string;
}

export interface RenderedMessage {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  readonly headers: MessageHeader[];
  /** Destinations of the message's links (after UTM), indexed by the linkIndex their click tokens carry. */
  readonly links: string[];
  /** The one-click unsubscribe link; null for transactional mail. */
  readonly unsubscribeUrl: string | null;
}

export type TemplatePart = 'subject' | 'preheader' | 'html' | 'text';

/** A template failed to render for one recipient; the message records the error as its failure reason. */
export class RenderError extends Error {
  override name = 'RenderError';
  readonly templateId: string;
  readonly version: number;
  readonly part: TemplatePart;

  constructor(input: { template: TemplateVersion; part: TemplatePart; messages: string[] }) {
    super(
      `template ${input.template.templateId} version ${input.template.version}: ${input.part} failed to render: ${input.messages.join('; ')}`,
    );
    this.templateId = input.template.templateId;
    this.version = input.template.version;
    this.part = input.part;
  }
}

type ParsedTemplate = Record<TemplatePart, Template[]>;

/** The longest token TokenSigner.verify accepts. */
const MAX_TOKEN_CHARS = 4096;

/** RFC 5322 line limit; a subject is one header line. */
const MAX_SUBJECT_CHARS = 998;

/** The usual hidden-preheader styles: invisible in the body, still read by inbox previews (incl. Outlook). */
const PREHEADER_STYLE =
  'display:none;font-size:1px;color:#ffffff;line-height:1px;max-height:0px;max-width:0px;opacity:0;overflow:hidden;mso-hide:all;';
const PIXEL_STYLE = 'display:block;border:0;height:1px;width:1px';
const FOOTER_STYLE =
  'font-family:Arial,Helvetica,sans-serif;font-size:12px;line-height:18px;color:#777777;text-align:center;margin:24px 0;';

/** An opening `<a>` tag; quoted attribute values may contain `>`. */
const ANCHOR_TAG = /<a(?=[\s>/])(?:[^>"']|"[^"]*"|'[^']*')*>/gi;
const ATTRIBUTE = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
const ENTITY = /&(#[0-9]+|#x[0-9a-f]+|amp|lt|gt|quot|apos);/gi;
const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const TEXT_URL = /https?:\/\/[^\s<>]+/g;
/** Punctuation that closes a sentence or a bracket around a URL in plain text rather than belonging to it. */
const TRAILING_PUNCTUATION = /[.,;:!?)\]}>'"*_]$/;

function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

function decodeEntities(value: string): string {
  return value.replace(ENTITY, (entity, body: string) => {
    const lower = body.toLowerCase();
    if (lower.startsWith('#')) {
      const code = lower.startsWith('#x')
        ? Number.parseInt(lower.slice(2), 16)
        : Number.parseInt(lower.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    }
    return NAMED_ENTITIES[lower] ?? entity;
  });
}

/** Header values come from traits: control characters (CR/LF above all) would let a trait add headers. */
function headerSafe(value: string): string {
  return value
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
}

function truncateChars(value: string, max: number): string {
  if (value.length <= max) return value;
  return Array.from(value).slice(0, max).join('');
}

/** Inserts before the last `</body>`, or appends when the document has none. */
function insertBeforeBodyEnd(html: string, fragment: string): string {
  const end = html.toLowerCase().lastIndexOf('</body');
  return end < 0 ? `${html}${fragment}` : `${html.slice(0, end)}${fragment}${html.slice(end)}`;
}

function insertAfterBodyStart(html: string, fragment: string): string {
  const start = /<body\b(?:[^>"']|"[^"]*"|'[^']*')*>/i.exec(html);
  if (!start) return `${fragment}${html}`;
  const at = start.index + start[0].length;
  return `${html.slice(0, at)}${fragment}${html.slice(at)}`;
}

interface UtmTags {
  readonly source: string;
  readonly campaign: string;
}

/** Adds utm_source/medium/campaign, unless the author already tagged the link (their tags win). */
function withUtm(url: URL, utm: UtmTags): string {
  const keys = [...url.searchParams.keys()];
  if (keys.some((key) => key.toLowerCase().startsWith('utm_'))) return url.href;
  const tags = [
    ['utm_source', utm.source],
    ['utm_medium', 'email'],
    ['utm_campaign', utm.campaign],
  ]
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}=${encodeURIComponent(value ?? '')}`)
    .join('&');
  // Appended to the query as written: re-serializing it could change a signed URL's bytes and break it.
  const search = url.search;
  url.search = search.length > 1 ? `${search.slice(1)}&${tags}` : tags;
  return url.href;
}

interface LinkPlan {
  readonly base: string;
  readonly input: RenderInput;
  readonly unsubscribeUrl: string | null;
  readonly links: string[];
  /** Any spelling of a link's URL (as written, normalized, with UTM) → what the message shows instead. */
  readonly replacements: Map<string, string>;
}

function rewriteLink(plan: LinkPlan, href: string): string | null {
  const written = decodeEntities(href).trim();
  if (written === '' || written === plan.unsubscribeUrl) return null;
  let url: URL;
  try {
    url = new URL(written);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const normalized = url.href;
  const destination = withUtm(url, { source: plan.input.utmSource, campaign: plan.input.campaign });
  let linkIndex = plan.links.indexOf(destination);
  if (linkIndex < 0) linkIndex = plan.links.push(destination) - 1;
  const token = plan.input.track.clicks
    ? plan.input.signer.sign({
        kind: 'click',
        messageId: plan.input.messageId,
        profileId: plan.input.profileId,
        url: destination,
        linkIndex,
      })
    : null;
  // TokenSigner.verify refuses tokens over 4096 characters; a huge URL goes out untracked rather than broken.
  const shown = token !== null && token.length <= MAX_TOKEN_CHARS ? `${plan.base}/e/c/${token}` : destination;
  for (const spelling of [written, normalized, destination]) plan.replacements.set(spelling, shown);
  return shown;
}

function rewriteAnchor(plan: LinkPlan, tag: string): string {
  let href: { start: number; end: number; value: string } | null = null;
  let optedOut = false;
  // Attributes start after `<a`; the tag's closing `>` never matches an attribute name.
  for (const attribute of tag.slice(2, -1).matchAll(ATTRIBUTE)) {
    const name = attribute[1]?.toLowerCase();
    const value = attribute[2] ?? attribute[3] ?? attribute[4] ?? '';
    if (name === 'data-nurture-track' && value.trim().toLowerCase() === 'false') optedOut = true;
    if (name === 'href' && href === null) {
      const start = 2 + (attribute.index ?? 0);
      href = { start, end: start + attribute[0].length, value };
    }
  }
  if (href === null || optedOut) return tag;
  const shown = rewriteLink(plan, href.value);
  if (shown === null) return tag;
  return `${tag.slice(0, href.start)}href="${escapeHtml(shown)}"${tag.slice(href.end)}`;
}

/** The text part shows the same links as the HTML part, so they are tracked the same way. */
function rewriteTextLinks(text: string, replacements: ReadonlyMap<string, string>): string {
  if (replacements.size === 0) return text;
  return text.replace(TEXT_URL, (match) => {
    let candidate = match;
    while (candidate.length > 0) {
      const shown = replacements.get(candidate);
      if (shown !== undefined) return `${shown}${match.slice(candidate.length)}`;
      if (!TRAILING_PUNCTUATION.test(candidate)) break;
      candidate = candidate.slice(0, -1);
    }
    return match;
  });
}

/**
 * Renders template versions for individual recipients. Parsed templates are cached per template version (versions
 * never change once saved), so a batch parses each template once.
 */
export class MessageRenderer {
  private readonly cache = new Map<string, ParsedTemplate>();
  private readonly cacheSize: number;
  private readonly html: Liquid;
  private readonly plain: Liquid;

  constructor(options: { readonly cacheSize?: number } = {}) {
    this.cacheSize = Math.max(1, options.cacheSize ?? 200);
    this.html = createLiquidEngine('html');
    this.plain = createLiquidEngine('plain');
  }

  async render(input: RenderInput): Promise<RenderedMessage> {
    const { template } = input;
    const parsed = this.parsed(template);
    const base = input.trackingBaseUrl.replace(/\/+$/, '');
    const marketing = template.topic === 'marketing';
    const unsubscribeUrl = marketing
      ? `${base}/e/u/${input.signer.sign({
          kind: 'unsubscribe',
          messageId: input.messageId,
          profileId: input.profileId,
          addressHash: addressHash(input.recipient),
          topic: 'marketing',
        })}`
      : null;
    const scope = {
      traits: input.context.traits,
      profile: input.context.profile,
      message: input.context.message,
      unsubscribe_url: unsubscribeUrl ?? '',
    };
    const run = (part: TemplatePart): string => {
      try {
        return String((part === 'html' ? this.html : this.plain).renderSync(parsed[part], scope));
      } catch (error) {
        throw new RenderError({ template, part, messages: liquidErrorMessages(error) });
      }
    };

    const subject = truncateChars(headerSafe(run('subject')), MAX_SUBJECT_CHARS);
    const preheader = headerSafe(run('preheader'));
    let html = run('html');
    let text = run('text');

    const plan: LinkPlan = { base, input, unsubscribeUrl, links: [], replacements: new Map() };
    html = html.replace(ANCHOR_TAG, (tag) => rewriteAnchor(plan, tag));
    text = rewriteTextLinks(text, plan.replacements);

    if (preheader !== '')
      html = insertAfterBodyStart(html, `<div style="${PREHEADER_STYLE}">${escapeHtml(preheader)}</div>`);
    const headers: MessageHeader[] = [];
    if (unsubscribeUrl !== null) {
      // RFC 8058: mailbox providers POST to the URL; the header pair is what shows their unsubscribe button.
      headers.push(
        { name: 'List-Unsubscribe', value: `<${unsubscribeUrl}>` },
        { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
      );
      // Marketing mail must carry a visible way out even when the template forgot {{ unsubscribe_url }}.
      if (!html.includes(unsubscribeUrl) && !html.includes(escapeHtml(unsubscribeUrl)))
        html = insertBeforeBodyEnd(
          html,
          `<p style="${FOOTER_STYLE}"><a href="${escapeHtml(unsubscribeUrl)}" style="color:#777777;text-decoration:underline;">Unsubscribe</a></p>`,
        );
      if (!text.includes(unsubscribeUrl)) text = `${text.trimEnd()}\n\nUnsubscribe: ${unsubscribeUrl}\n`;
    }
    if (input.track.opens) {
      const token = input.signer.sign({
        kind: 'open',
        messageId: input.messageId,
        profileId: input.profileId,
      });
      html = insertBeforeBodyEnd(
        html,
        `<img src="${escapeHtml(`${base}/e/o/${token}`)}" width="1" height="1" alt="" style="${PIXEL_STYLE}">`,
      );
    }
    return { subject, html, text, headers, links: plan.links, unsubscribeUrl };
  }

  private parsed(template: TemplateVersion): ParsedTemplate {
    const key = `${template.templateId}\u0000${template.version}`;
    const cached = this.cache.get(key);
    if (cached) {
      // Re-inserting keeps the map in least-recently-used order, so eviction drops the coldest template.
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const parse = (part: TemplatePart, engine: Liquid, source: string): Template[] => {
      try {
        return engine.parse(source);
      } catch (error) {
        throw new RenderError({ template, part, messages: liquidErrorMessages(error) });
      }
    };
    const parsed: ParsedTemplate = {
      subject: parse('subject', this.plain, template.subject),
      preheader: parse('preheader', this.plain, template.preheader),
      html: parse('html', this.html, template.html),
      text: parse('text', this.plain, template.text),
    };
    this.cache.set(key, parsed);
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (oldest.done) break;
      this.cache.delete(oldest.value);
    }
    return parsed;
  }
}
