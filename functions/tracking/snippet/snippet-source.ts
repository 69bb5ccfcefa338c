// The Nurture browser snippet (nurture.js) that `GET /v1/snippet.js` serves: Segment-shaped calls, consent first.

/** Reported as `context.library.version` on every event the snippet sends. */
export const SNIPPET_VERSION = '0.1.0';

/**
 * The one-line stub a site puts before the snippet so that calls made before it loads are queued, then replayed
 * in order once it has loaded. `user()` is not stubbed: it can only answer once the snippet is there.
 *
 * ```html
 * <script>window.analytics=window.analytics||[];...</script>
 * <script src="https://API/v1/snippet.js" data-write-key="wk_..." async></script>
 * ```
 */
export const QUEUE_STUB =
  'window.analytics=window.analytics||[];["page","track","identify","alias","group","consent","reset","content"]' +
  '.forEach(function(m){analytics[m]=analytics[m]||function(){analytics.push([m].concat([].slice.call(arguments)))}});';

export interface SnippetOptions {
  /** Origin (and optional path prefix) of the tracking API the snippet posts to; a trailing slash is ignored. */
  readonly apiHost: string;
}

/**
 * The snippet's JavaScript: an ES2017 IIFE with no dependencies.
 *
 * Configuration comes from its own script tag (`data-write-key`, `data-api-host`, `data-consent-required`,
 * `data-auto-page`), else from `window.nurtureConfig` (`writeKey`, `apiHost`, `consentRequired`, `autoPage`);
 * `apiHost` defaults to the host given here. Consent is required unless turned off: until the site calls
 * `analytics.consent({ analytics: true })` calls stay in memory, nothing is sent and nothing is stored.
 * Consent for tracking means `analytics: true`; the other categories are recorded and passed on as they are.
 * Once granted, the choice is remembered in the `nurture_consent` cookie so the next pages are tracked without
 * asking again; `consent({ analytics: false })` forgets it, drops queued calls and deletes every cookie (a visitor
 * who was tracked is told to the API once, so the refusal reaches the profile). `consent(categories, evidence)`
 * records how the choice was made (`{ method, bannerVersion, textHash }`; the page URL is added) on the profile.
 * A consent banner may instead dispatch a `nurture:consent` event on `window` with
 * `detail: { categoryPreferences, evidence }`.
 *
 * `analytics.content(placement, target, options?)` (also `nurture.content`) asks the API for the visitor's banner
 * in a placement and renders it into `target` (an element or a selector): title and body as text, the operator's
 * HTML as is, and the call to action as a link through the API's click tracking. Nothing is rendered when the
 * visitor has no banner there, or no id yet (before consent). Either way a bubbling `nurture:content` event
 * (`detail: { placement, content }`, content null when empty) tells the site; `{ render: false }` only fetches.
 * The call resolves to the content or null.
 */
export function renderSnippet(options: SnippetOptions): string {
  return snippetSource(jsStringLiteral(options.apiHost));
}

/**
 * JSON is almost a JavaScript literal: U+2028/U+2029 are line terminators before ES2019, and `<` is escaped so
 * the source stays safe even when a site inlines it inside a `<script>` element.
 */
function jsStringLiteral(value: string): string {
  return JSON.stringify(value)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
    .replace(/</g, '\\u003c');
}

// The source is written by hand to stay small without a minifier at run time; String.raw keeps its regular
// expressions readable. It must avoid backticks and dollar-brace sequences, and syntax newer than ES2017.
function snippetSource(apiHostLiteral: string): string {
  return String.raw`/* nurture.js ${SNIPPET_VERSION} */
(function (window, document, navigator, location, defaultApiHost) {
  'use strict';
  var existing = window.analytics;
  if (existing && existing.initialized) return;

  // Configuration: the script tag's data attributes, else window.nurtureConfig.
  var script = document.currentScript;
  var config = window.nurtureConfig || {};
  var option = function (attribute, key, fallback) {
    var value = script && script.getAttribute('data-' + attribute);
    if (value !== null && value !== undefined) return value;
    return config[key] !== undefined ? config[key] : fallback;
  };
  var writeKey = option('write-key', 'writeKey');
  var apiHost = String(option('api-host', 'apiHost', defaultApiHost)).replace(/\/+$/, '');
  var consentRequired = String(option('consent-required', 'consentRequired', true)) !== 'false';
  var autoPage = String(option('auto-page', 'autoPage', true)) !== 'false';

  var VERSION = '${SNIPPET_VERSION}';
  var PATHS = { page: 'p', track: 't', identify: 'i', alias: 'a', group: 'g' };
  var AID = 'nurture_aid', UID = 'nurture_uid', CONSENT = 'nurture_consent', YEAR = 31536000;
  var MAX_QUEUE = 100, BEACON_LIMIT = 61440;
  var warn = function (text) { if (window.console) window.console.warn('nurture.js: ' + text); };
  var isObject = function (value) { return value !== null && typeof value === 'object'; };
  if (!writeKey) warn('no write key (data-write-key): nothing will be sent');

  var uuid = function () {
    var crypto = window.crypto;
    if (crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16), id = '', i;
    if (crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
    else for (i = 0; i < 16; i++) bytes[i] = Math.random() * 256;
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    for (i = 0; i < 16; i++) id += (bytes[i] + 256).toString(16).slice(1) + (i === 3 || i === 5 || i === 7 || i === 9 ? '-' : '');
    return id;
  };

  // The campaign comes from the landing URL: the one this page was loaded with.
  var landing = new URLSearchParams(location.search), campaign = {}, hasCampaign = false;
  [['campaign', 'name'], ['source', 'source'], ['medium', 'medium'], ['term', 'term'], ['content', 'content']].forEach(function (key) {
    var value = landing.get('utm_' + key[0]);
    if (value) { campaign[key[1]] = value; hasCampaign = true; }
  });

  var readCookie = function (name) {
    var found = document.cookie.split('; ').filter(function (pair) { return pair.indexOf(name + '=') === 0; })[0];
    try { return found ? decodeURIComponent(found.slice(name.length + 1)) || null : null; } catch (e) { return null; }
  };
  var writeCookie = function (name, value, maxAge) {
    document.cookie = name + '=' + encodeURIComponent(value) + '; Max-Age=' + maxAge + '; Path=/; SameSite=Lax' +
      (location.protocol === 'https:' ? '; Secure' : '');
  };
  var cleanPreferences = function (categories) {
    var clean = {};
    Object.keys(categories).sort().forEach(function (key) {
      if (typeof categories[key] === 'boolean') clean[key] = categories[key];
    });
    return clean;
  };

  // State. Before consent (when required) ids stay null and calls wait in the queue, in memory only.
  var preferences = null, anonymousId = null, userId = null, queue = [];
  var tracking = function () { return preferences ? preferences.analytics === true : !consentRequired; };
  var storeIds = function () {
    writeCookie(AID, anonymousId, YEAR);
    if (userId) writeCookie(UID, userId, YEAR);
    if (preferences) writeCookie(CONSENT, JSON.stringify(preferences), YEAR);
  };
  var startTracking = function () {
    anonymousId = anonymousId || readCookie(AID) || uuid();
    userId = userId || readCookie(UID);
    storeIds();
  };
  try {
    var remembered = JSON.parse(readCookie(CONSENT));
    if (isObject(remembered) && remembered.analytics === true) preferences = cleanPreferences(remembered);
  } catch (e) { /* an unreadable cookie is no consent */ }
  if (tracking()) startTracking();

  // Transport: text/plain and no custom header keep every request a CORS simple request (no preflight).
  var post = function (url, message, attempt) {
    message.sentAt = new Date().toISOString();
    var body = JSON.stringify(message);
    var small = new Blob([body]).size < BEACON_LIMIT;
    if (attempt === 0 && small && navigator.sendBeacon &&
      navigator.sendBeacon(url, new Blob([body], { type: 'text/plain' }))) return;
    if (typeof fetch !== 'function') return;
    // The API dedupes on messageId, so a retry after a lost response is harmless.
    var retry = function () {
      if (attempt < 3) setTimeout(function () { post(url, message, attempt + 1); }, 1000 * Math.pow(2, attempt) * (1 + Math.random() / 2));
    };
    fetch(url, {
      method: 'POST', body: body, keepalive: small, headers: { 'Content-Type': 'text/plain' },
      credentials: 'omit', mode: 'cors',
    }).then(function (response) { if (response.status === 429 || response.status >= 500) retry(); }, retry);
  };
  var deliver = function (message) {
    if (!writeKey) return;
    message.anonymousId = anonymousId;
    if (message.type === 'alias' && !message.previousId) message.previousId = anonymousId;
    if (preferences) message.context.consent = { categoryPreferences: preferences };
    message.writeKey = writeKey;
    post(apiHost + '/v1/' + PATHS[message.type], message, 0);
  };

  var pageFields = function () {
    return { path: location.pathname, referrer: document.referrer, search: location.search, title: document.title, url: location.href };
  };
  var compose = function (type, fields) {
    var context = {
      page: pageFields(), userAgent: navigator.userAgent, locale: navigator.language,
      library: { name: 'nurture.js', version: VERSION },
    };
    if (hasCampaign) context.campaign = Object.assign({}, campaign);
    return Object.assign(
      { type: type, messageId: uuid(), properties: {}, context: context, timestamp: new Date().toISOString() },
      userId ? { userId: userId } : {}, fields);
  };
  var send = function (type, fields) {
    var message = compose(type, fields);
    if (tracking()) deliver(message);
    else if (!preferences && queue.length < MAX_QUEUE) queue.push(message);
  };

  var methods = {
    page: function (name, properties) {
      if (isObject(name)) { properties = name; name = undefined; }
      var fields = { properties: Object.assign(pageFields(), name ? { name: String(name) } : {}, properties) };
      if (name) fields.name = String(name);
      send('page', fields);
    },
    track: function (event, properties) {
      if (!event) return warn('track needs an event name');
      send('track', { event: String(event), properties: Object.assign({}, properties) });
    },
    identify: function (id, traits) {
      if (isObject(id)) { traits = id; id = undefined; }
      if (id !== undefined && id !== null && id !== '') {
        userId = String(id);
        if (tracking()) storeIds();
      }
      send('identify', { traits: Object.assign({}, traits) });
    },
    alias: function (id, previousId) {
      if (!id) return warn('alias needs a user id');
      send('alias', { userId: String(id), previousId: previousId ? String(previousId) : userId || anonymousId || undefined });
    },
    group: function (groupId, traits) {
      if (!groupId) return warn('group needs a group id');
      send('group', { groupId: String(groupId), traits: Object.assign({}, traits) });
    },
    consent: function (categories, evidence) {
      if (!isObject(categories)) return warn('consent needs an object such as {analytics: true}');
      var next = cleanPreferences(categories);
      var changed = JSON.stringify(next) !== JSON.stringify(preferences);
      var wasTracking = tracking() && anonymousId !== null;
      preferences = next;
      // Evidence (banner version, text hash, method) proves the choice; the page it was made on is added, without
      // its query string, which can carry personal data.
      var proof = isObject(evidence) ? Object.assign({ url: location.origin + location.pathname }, evidence) : null;
      var consentEvent = function () {
        var consent = { categoryPreferences: next };
        if (proof) consent.evidence = proof;
        return { event: 'Segment Consent Preference Updated', properties: { consent: consent } };
      };
      if (next.analytics !== true) {
        queue = [];
        // A withdrawal is told to the API once, under the id it knew, so it stops journeys and banners too; the API
        // keeps only the decision.
        if (wasTracking && changed) deliver(compose('track', consentEvent()));
        anonymousId = userId = null;
        [AID, UID, CONSENT].forEach(function (name) { if (readCookie(name) !== null) writeCookie(name, '', 0); });
        return;
      }
      startTracking();
      var waiting = queue;
      queue = [];
      waiting.forEach(deliver);
      // Sent only when the choice changed (or comes with evidence), so a consent platform replaying it on every
      // page adds no noise.
      if (changed || proof) send('track', consentEvent());
    },
    reset: function () {
      userId = null;
      if (!tracking()) return;
      writeCookie(UID, '', 0);
      anonymousId = uuid();
      storeIds();
    },
    user: function () { return { anonymousId: anonymousId, userId: userId }; },
    content: function (placement, target, options) {
      var element = typeof target === 'string' ? document.querySelector(target) : target;
      var render = !options || options.render !== false;
      if (render && !element) return warn('content: no element ' + target);
      var who = userId ? 'userId=' + encodeURIComponent(userId) : anonymousId && 'anonymousId=' + encodeURIComponent(anonymousId);
      var show = function (content) {
        if (render && content) renderContent(element, content);
        if (element) element.dispatchEvent(new CustomEvent('nurture:content', { bubbles: true, detail: { placement: placement, content: content } }));
        return content;
      };
      if (!writeKey || !who || typeof fetch !== 'function') return Promise.resolve(show(null));
      // A GET with no custom header is a CORS simple request: the write key travels in the query.
      return fetch(apiHost + '/v1/content/' + encodeURIComponent(placement) + '?' + who + '&writeKey=' + encodeURIComponent(writeKey),
        { credentials: 'omit', mode: 'cors' })
        .then(function (response) { return response.status === 200 ? response.json() : null; })
        .catch(function () { return null; }) // unreachable or unreadable: no banner, as on 204
        .then(show)
        .catch(function (e) { warn('content failed: ' + (e && e.message)); return null; });
    },
  };

  // Title, body and label are text, never markup; only the operator's own html field is HTML.
  var renderContent = function (element, content) {
    var box = document.createElement('div');
    var node = function (tag, part, text) {
      var child = box.appendChild(document.createElement(tag));
      child.className = 'nurture-banner-' + part;
      if (text !== undefined) child.textContent = text;
      return child;
    };
    box.className = 'nurture-banner';
    box.setAttribute('data-banner-id', content.id);
    node('strong', 'title', content.title);
    node('p', 'body', content.body);
    if (content.html) node('div', 'html').innerHTML = content.html;
    if (content.cta) node('a', 'cta', content.cta.label).href = content.cta.url;
    element.textContent = '';
    element.appendChild(box);
  };

  // The public object. A site's code never breaks because of tracking: errors become console warnings.
  var api = { initialized: true, VERSION: VERSION };
  var dispatch = function (call) {
    if (Array.isArray(call) && Object.prototype.hasOwnProperty.call(methods, call[0])) return api[call[0]].apply(api, call.slice(1));
  };
  Object.keys(methods).forEach(function (name) {
    api[name] = function () {
      try { return methods[name].apply(api, arguments); } catch (e) { warn(name + ' failed: ' + (e && e.message)); }
    };
  });
  api.push = dispatch; // a stub method captured before load still lands here
  // A consent platform (CMP) can also announce the visitor's choice as a DOM event instead of calling the API:
  // window.dispatchEvent(new CustomEvent('nurture:consent', { detail: { categoryPreferences: {...}, evidence: {...} } })).
  if (typeof window.addEventListener === 'function') window.addEventListener('nurture:consent', function (event) {
    var detail = event && event.detail;
    if (!isObject(detail)) return warn('nurture:consent needs detail.categoryPreferences');
    api.consent(isObject(detail.categoryPreferences) ? detail.categoryPreferences : detail, detail.evidence);
  });
  var buffered = Array.isArray(existing) ? existing.slice() : [];
  window.analytics = api;
  window.nurture = window.nurture || api;
  // Calls the page made before load come first, so an identify it made there applies to the page view.
  buffered.forEach(dispatch);
  if (autoPage) api.page();
})(window, document, navigator, location, ${apiHostLiteral});
`;
}
