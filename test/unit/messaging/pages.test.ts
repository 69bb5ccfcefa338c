// The unsubscribe pages: a confirmation that only a person's button press acts on, and what follows it.
import { describe, expect, it } from 'vitest';
import {
  invalidLinkPage,
  unsubscribeConfirmPage,
  unsubscribedPage,
} from '../../../functions/messaging/pages.ts';

const ACTION_URL = 'https://t.example.com/e/u/eyJrIjoidSJ9.abc?x=1&y=2';

/** The attributes of every tag with this name, as a browser would read them (entities decoded). */
function tags(html: string, name: string): Record<string, string>[] {
  const found: Record<string, string>[] = [];
  for (const tag of html.matchAll(new RegExp(`<${name}\\b([^>]*)>`, 'gi'))) {
    const attributes: Record<string, string> = {};
    for (const [, key, value] of (tag[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g))
      if (key !== undefined && value !== undefined)
        attributes[key.toLowerCase()] = value
          .replaceAll('&quot;', '"')
          .replaceAll('&#39;', "'")
          .replaceAll('&lt;', '<')
          .replaceAll('&gt;', '>')
          .replaceAll('&amp;', '&');
    found.push(attributes);
  }
  return found;
}

/** The body a browser submits for the page's form: its hidden fields, form-urlencoded. */
function submittedBody(html: string): string {
  const fields = tags(html, 'input').map((input): [string, string] => [input.name ?? '', input.value ?? '']);
  return new URLSearchParams(fields).toString();
}

describe('unsubscribe confirmation', () => {
  it('posts the RFC 8058 one-click body to the action URL', () => {
    const html = unsubscribeConfirmPage({ actionUrl: ACTION_URL, topic: 'marketing' });

    const [form] = tags(html, 'form');
    expect(form).toMatchObject({ method: 'post', action: ACTION_URL });
    expect(submittedBody(html)).toBe('List-Unsubscribe=One-Click');
  });

  it('has exactly one form, so the button cannot submit anything else', () => {
    const html = unsubscribeConfirmPage({ actionUrl: ACTION_URL, topic: 'marketing' });

    expect(tags(html, 'form')).toHaveLength(1);
    expect(tags(html, 'button')).toHaveLength(1);
  });

  it('explains which emails will stop', () => {
    expect(unsubscribeConfirmPage({ actionUrl: ACTION_URL, topic: 'marketing' })).toContain(
      'marketing emails',
    );
    expect(unsubscribeConfirmPage({ actionUrl: ACTION_URL, topic: 'transactional' })).toContain(
      'transactional emails',
    );
  });

  it('escapes the action URL so it cannot break out of the attribute', () => {
    const hostile = 'https://t.example.com/e/u/x"><script>alert(1)</script>';

    const html = unsubscribeConfirmPage({ actionUrl: hostile, topic: 'marketing' });

    expect(html).not.toContain('<script>');
    expect(tags(html, 'form')[0]?.action).toBe(hostile);
  });

  it('escapes ampersands in the action URL', () => {
    const html = unsubscribeConfirmPage({ actionUrl: ACTION_URL, topic: 'marketing' });

    expect(html).toContain('?x=1&amp;y=2');
  });

  it('accepts a relative action URL', () => {
    const html = unsubscribeConfirmPage({ actionUrl: '/e/u/token', topic: 'marketing' });

    expect(tags(html, 'form')[0]?.action).toBe('/e/u/token');
  });

  it.each(['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,hi'])(
    'refuses an action URL that would run in the page (%j)',
    (actionUrl) => {
      expect(() => unsubscribeConfirmPage({ actionUrl, topic: 'marketing' })).toThrow(/http/);
    },
  );
});

describe('every page', () => {
  const pages = {
    confirm: unsubscribeConfirmPage({ actionUrl: ACTION_URL, topic: 'marketing' }),
    unsubscribed: unsubscribedPage({ topic: 'marketing' }),
    invalid: invalidLinkPage(),
  };

  it.each(Object.entries(pages))('%s loads nothing from anywhere else', (_name, html) => {
    expect(html).not.toMatch(/<(script|link|img|iframe)\b/i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).toContain("default-src 'none'");
  });

  it.each(Object.entries(pages))('%s keeps its link token out of Referer headers', (_name, html) => {
    expect(tags(html, 'meta')).toContainEqual({ name: 'referrer', content: 'no-referrer' });
  });

  it.each(Object.entries(pages))('%s is kept out of search engines', (_name, html) => {
    expect(tags(html, 'meta')).toContainEqual({ name: 'robots', content: 'noindex, nofollow' });
  });

  it.each(Object.entries(pages))('%s is a complete UTF-8 document', (_name, html) => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });
});

describe('after unsubscribing', () => {
  it('confirms which emails stopped', () => {
    expect(unsubscribedPage({ topic: 'marketing' })).toContain('You are unsubscribed');
    expect(unsubscribedPage({ topic: 'marketing' })).toContain('marketing emails');
  });

  it('offers no way to act again', () => {
    expect(tags(unsubscribedPage({ topic: 'marketing' }), 'form')).toHaveLength(0);
  });
});

describe('invalid link', () => {
  it('tells the recipient the link is not valid without saying why', () => {
    const html = invalidLinkPage();

    expect(html).toContain('This link is not valid');
    expect(html).not.toMatch(/signature|token|tamper/i);
  });
});
