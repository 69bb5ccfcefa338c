// The KPI dashboard's HTML shell: layout, inline styles and the bundled client script, and the CSP that admits them.
import { createHash } from 'node:crypto';

export interface DashboardPage {
  readonly html: string;
  /** Allows the page's own inline script and style by hash, same-origin fetches, and nothing else. */
  readonly contentSecurityPolicy: string;
  /** Changes whenever the page does: the shell is the same for every request, so it can be revalidated cheaply. */
  readonly etag: string;
}

const STYLE = `
  :root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d0d7de; --accent: #1f6feb; }
  * { box-sizing: border-box; }
  body { margin: 0; background: #f6f8fa; color: var(--ink);
    font: 15px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
  header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: baseline; justify-content: space-between;
    padding: 1rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
  h1 { margin: 0; font-size: 1.35rem; }
  h2 { margin: 0 0 0.75rem; font-size: 1.1rem; }
  main { max-width: 80rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
  section, form.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem;
    margin: 1rem 0; }
  label { font-weight: 600; margin-right: 0.35rem; }
  input { font: inherit; padding: 0.35rem 0.5rem; border: 1px solid var(--line); border-radius: 6px; }
  button { font: inherit; padding: 0.4rem 0.9rem; border: 1px solid var(--accent); border-radius: 6px;
    background: var(--accent); color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: var(--accent); }
  button:focus-visible, input:focus-visible { outline: 3px solid #0b3d91; outline-offset: 2px; }
  .row { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: center; }
  .message { color: #a40e26; font-weight: 600; min-height: 1.4em; }
  #status { color: var(--muted); margin: 0.5rem 0 0; min-height: 1.4em; }
  dl.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); gap: 0.75rem; margin: 0; }
  dl.figures > div { border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 0.75rem; }
  dl.figures dt { color: var(--muted); font-size: 0.85rem; }
  dl.figures dd { margin: 0; font-size: 1.3rem; font-weight: 600; }
  dl.figures dd.reference { font-size: 0.8rem; font-weight: 400; color: var(--muted); }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(24rem, 1fr)); gap: 1rem; }
  figure { margin: 0; }
  figcaption { font-weight: 600; margin-bottom: 0.35rem; }
  .chart { position: relative; height: 16rem; }
  .table-wrap { overflow-x: auto; margin-top: 0.75rem; }
  table { border-collapse: collapse; width: 100%; font-size: 0.875rem; }
  caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
  th, td { border-bottom: 1px solid var(--line); padding: 0.3rem 0.5rem; text-align: right; white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  thead th { background: #f6f8fa; }
  .csv { margin-top: 0.5rem; }
  [hidden] { display: none !important; }
`;

const BODY = `
<header>
  <h1>Nurture KPIs</h1>
  <button type="button" id="forget-token" class="secondary" hidden>Forget admin token</button>
</header>
<main>
  <form id="token-form" class="panel" hidden>
    <h2>Admin token</h2>
    <p>The KPIs come from the admin API. The token is kept in this browser tab only and sent as a bearer token.</p>
    <p id="token-message" class="message" role="alert"></p>
    <div class="row">
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
      <button type="submit">Show KPIs</button>
    </div>
  </form>

  <div id="dashboard" hidden>
    <form id="range-form" class="panel" aria-label="Date range">
      <div class="row">
        <label for="from">From</label><input id="from" name="from" type="date" required>
        <label for="to">To</label><input id="to" name="to" type="date" required>
        <button type="submit">Apply</button>
        <span role="group" aria-label="Presets" class="row">
          <button type="button" class="secondary" data-preset-days="7">Last 7 days</button>
          <button type="button" class="secondary" data-preset-days="30">Last 30 days</button>
          <button type="button" class="secondary" data-preset-days="90">Last 90 days</button>
        </span>
      </div>
      <p id="status" role="status" aria-live="polite"></p>
    </form>

    <section aria-labelledby="headline-title">
      <h2 id="headline-title">Headline figures</h2>
      <dl id="headline" class="figures"></dl>
    </section>

    <section aria-labelledby="reach-title">
      <h2 id="reach-title">Reach: organic search, social and mobile</h2>
      <dl id="reach" class="figures"></dl>
    </section>

    <section aria-labelledby="time-title">
      <h2 id="time-title">Over time</h2>
      <div class="charts">
        <figure><figcaption id="chart-traffic-caption">Visitors, sessions and new leads per day</figcaption>
          <div class="chart"><canvas id="chart-traffic" role="img" aria-labelledby="chart-traffic-caption"
            aria-describedby="table-day"></canvas></div></figure>
        <figure><figcaption id="chart-revenue-caption">Revenue per day</figcaption>
          <div class="chart"><canvas id="chart-revenue" role="img" aria-labelledby="chart-revenue-caption"
            aria-describedby="table-day"></canvas></div></figure>
      </div>
      <div class="table-wrap" id="table-day"></div>
      <button type="button" class="secondary csv" data-csv="day">Download CSV (per day)</button>
    </section>

    <section aria-labelledby="channel-title">
      <h2 id="channel-title">Channels</h2>
      <div class="charts">
        <figure><figcaption id="chart-channel-caption">Sessions, visitors and new leads per channel</figcaption>
          <div class="chart"><canvas id="chart-channel" role="img" aria-labelledby="chart-channel-caption"
            aria-describedby="table-channel"></canvas></div></figure>
        <figure><figcaption id="chart-channel-revenue-caption">Revenue per channel, first and last touch</figcaption>
          <div class="chart"><canvas id="chart-channel-revenue" role="img"
            aria-labelledby="chart-channel-revenue-caption" aria-describedby="table-channel"></canvas></div></figure>
      </div>
      <div class="table-wrap" id="table-channel"></div>
      <button type="button" class="secondary csv" data-csv="channel">Download CSV (per channel)</button>
    </section>

    <section aria-labelledby="funnel-title">
      <h2 id="funnel-title">Lead funnel</h2>
      <div class="charts">
        <figure><figcaption id="chart-funnel-caption">Leads, MQL, SQL, SAL and customers</figcaption>
          <div class="chart"><canvas id="chart-funnel" role="img" aria-labelledby="chart-funnel-caption"
            aria-describedby="table-funnel"></canvas></div></figure>
        <div class="table-wrap" id="table-funnel"></div>
      </div>
    </section>

    <section aria-labelledby="email-title">
      <h2 id="email-title">Email</h2>
      <div class="charts">
        <figure><figcaption id="chart-email-caption">Email outcomes</figcaption>
          <div class="chart"><canvas id="chart-email" role="img" aria-labelledby="chart-email-caption"
            aria-describedby="table-email"></canvas></div></figure>
        <div class="table-wrap" id="table-email"></div>
      </div>
    </section>

    <section aria-labelledby="journeys-title">
      <h2 id="journeys-title">Journeys</h2>
      <div class="table-wrap" id="table-journeys"></div>
    </section>

    <section aria-labelledby="landing-title">
      <h2 id="landing-title">Landing pages</h2>
      <div class="table-wrap" id="table-landingPage"></div>
      <button type="button" class="secondary csv" data-csv="landingPage">Download CSV (per landing page)</button>
    </section>

    <section aria-labelledby="campaign-title">
      <h2 id="campaign-title">Campaigns</h2>
      <div class="table-wrap" id="table-campaign"></div>
      <button type="button" class="secondary csv" data-csv="campaign">Download CSV (per campaign)</button>
    </section>
  </div>
</main>
`;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64');

/**
 * Keeps a script from ending its own <script> element early: `</script` and `<!--` only occur inside string, regex
 * or template literals in valid JavaScript, where `<\/` and `<\!` mean the same characters.
 */
export function inlineScript(script: string): string {
  return script.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/**
 * Renders the dashboard shell around the bundled client script. The shell holds no data: the client asks for the
 * admin token and fetches the KPIs from the admin API itself.
 */
export function dashboardPage({ script }: { readonly script: string }): DashboardPage {
  const inline = inlineScript(script);
  const scriptHash = sha256(inline);
  const styleHash = sha256(STYLE);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>Nurture KPIs</title>
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${inline}</script>
</body>
</html>
`;
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src 'sha256-${scriptHash}'`,
    `style-src 'sha256-${styleHash}'`,
    "connect-src 'self'",
    "img-src 'self' data: blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy, etag: `"${sha256(html).slice(0, 27)}"` };
}
