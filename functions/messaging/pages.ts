// The HTML pages a recipient sees after following an unsubscribe link: confirm, done, or link not valid.
import type { Topic } from './model.ts';

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

/** What stops, in words a recipient understands. */
const TOPIC_DESCRIPTIONS: Readonly<Record<Topic, string>> = {
  marketing: 'marketing emails: newsletters, offers and product news',
  transactional: 'transactional emails: receipts, account notices and other messages about things you did',
};

function describe(topic: Topic): string {
  return TOPIC_DESCRIPTIONS[topic];
}

// Everything inline and nothing fetched: the pages carry a token in their URL, which must not leak to third parties
// through requests or the Referer header, and they must render in any browser a mail client opens.
const STYLE = `
  body { margin: 0; padding: 2rem 1rem; background: #f4f5f7; color: #1f2328;
    font: 16px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
  main { max-width: 32rem; margin: 0 auto; padding: 2rem; background: #fff; border-radius: 8px;
    box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12); }
  h1 { margin-top: 0; font-size: 1.5rem; }
  button { padding: 0.75rem 1.5rem; border: 0; border-radius: 6px; background: #1f6feb; color: #fff;
    font: inherit; font-weight: 600; cursor: pointer; }
  button:focus-visible { outline: 3px solid #0b3d91; outline-offset: 2px; }
  .note { color: #59636e; font-size: 0.875rem; }
`;

function page({ title, body }: { readonly title: string; readonly body: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** Only web addresses (absolute or relative) may be a form target; any other scheme would run in the page. */
function assertWebAddress(actionUrl: string): void {
  const scheme = /^\s*([a-z][a-z0-9+.-]*):/i.exec(actionUrl)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https')
    throw new Error('The unsubscribe action must be an http(s) URL');
}

/**
 * Shown for GET on an unsubscribe link. Link scanners and prefetchers follow GETs, so this page only asks; the
 * button POSTs the RFC 8058 one-click body (`List-Unsubscribe=One-Click`), the same request a mail client's own
 * unsubscribe button sends, so one endpoint serves both.
 */
export function unsubscribeConfirmPage({
  actionUrl,
  topic,
}: {
  readonly actionUrl: string;
  readonly topic: Topic;
}): string {
  assertWebAddress(actionUrl);
  return page({
    title: 'Unsubscribe',
    body: `<h1>Unsubscribe?</h1>
<p>You will no longer receive ${escapeHtml(describe(topic))} at this address.</p>
<form method="post" action="${escapeHtml(actionUrl)}" enctype="application/x-www-form-urlencoded">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>
<p class="note">Nothing changes until you press the button.</p>`,
  });
}

/** Shown after the unsubscribe took effect. */
export function unsubscribedPage({ topic }: { readonly topic: Topic }): string {
  return page({
    title: 'Unsubscribed',
    body: `<h1>You are unsubscribed</h1>
<p>You will no longer receive ${escapeHtml(describe(topic))} at this address.</p>
<p class="note">A message already on its way may still arrive in the next few minutes.</p>`,
  });
}

/** Shown for a tampered, truncated or expired link; says nothing about why, so it teaches a forger nothing. */
export function invalidLinkPage(): string {
  return page({
    title: 'Link not valid',
    body: `<h1>This link is not valid</h1>
<p>It may have been copied incompletely or have expired. Please use the link in the most recent email you received.</p>`,
  });
}
