// Email domain enrichment: free-mail, disposable (with subdomains) and role-address detection on the shipped lists.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  classifyEmail,
  DomainList,
  type EmailDomainLists,
  emailDomainEnricher,
  loadEmailDomainLists,
} from '../../../functions/enrichment/email-domain.ts';

let lists: EmailDomainLists;
let version: string;
beforeAll(() => {
  ({ lists, version } = loadEmailDomainLists());
});

describe('free-mail and disposable domains (shipped freemail lists)', () => {
  it('flags a free-mail provider as free but not disposable', () => {
    expect(classifyEmail(lists, 'ana@gmail.com')).toEqual({
      domain: 'gmail.com',
      freeMail: true,
      disposable: false,
      role: false,
    });
  });

  it('flags a disposable provider as disposable and free', () => {
    expect(classifyEmail(lists, 'ana@mailinator.com')).toMatchObject({ freeMail: true, disposable: true });
  });

  it('flags any subdomain of a disposable provider as disposable', () => {
    expect(classifyEmail(lists, 'ana@x7f3.inbox.mailinator.com')).toMatchObject({
      domain: 'x7f3.inbox.mailinator.com',
      disposable: true,
    });
  });

  it('does not treat a domain that merely ends with a disposable name as disposable', () => {
    expect(classifyEmail(lists, 'ana@acmemailinator.com')).toMatchObject({ disposable: false });
  });

  it('does not treat a subdomain of a free-mail provider as a free-mail address', () => {
    expect(classifyEmail(lists, 'ana@corp.gmail.com')).toMatchObject({ freeMail: false });
  });

  it('ignores case in the domain', () => {
    expect(classifyEmail(lists, 'Ana@GuerrillaMail.COM')).toMatchObject({
      domain: 'guerrillamail.com',
      disposable: true,
    });
  });

  it('matches an internationalized domain in Unicode or punycode alike', () => {
    const unicode = classifyEmail(lists, 'ana@INSTÁGRAM.com');
    const punycode = classifyEmail(lists, 'ana@xn--instgram-cza.com');

    expect(unicode).toMatchObject({ domain: 'xn--instgram-cza.com', disposable: true });
    expect(punycode).toEqual(unicode);
  });

  it('treats a company domain as neither free nor disposable', () => {
    expect(classifyEmail(lists, 'ana@example.com')).toMatchObject({ freeMail: false, disposable: false });
  });

  it.each(['not-an-email', '@gmail.com', 'ana@', 'ana@localhost', 'ana@exa mple.com', ''])(
    'gives no classification for %j',
    (email) => {
      expect(classifyEmail(lists, email)).toBeNull();
    },
  );
});

describe('role addresses', () => {
  it.each([
    'info@example.com',
    'SALES@example.com',
    'sales+emea@example.com',
    'no-reply@example.com',
    'no.reply@example.com',
  ])('flags %s as a shared mailbox', (email) => {
    expect(classifyEmail(lists, email)).toMatchObject({ role: true });
  });

  it.each(['ana@example.com', 'information.desk.ana@example.com', 'salesforce-ana@example.com'])(
    'treats %s as a person',
    (email) => {
      expect(classifyEmail(lists, email)).toMatchObject({ role: false });
    },
  );
});

describe('the compact domain list', () => {
  it('answers membership exactly like a set of the same domains', () => {
    const label = fc.stringMatching(/^[a-c]{1,3}$/);
    const domain = fc.tuple(label, fc.constantFrom('com', 'co', 'de')).map(([name, tld]) => `${name}.${tld}`);
    fc.assert(
      fc.property(fc.array(domain), domain, (listed, probe) => {
        expect(DomainList.fromDomains(listed).has(probe)).toBe(new Set(listed).has(probe));
      }),
    );
  });

  it('refuses text that is not sorted, since bisection would then miss entries', () => {
    expect(() => DomainList.fromSortedText('b.com\na.com\n')).toThrow(/not sorted/);
  });

  it('ships every domain of the freemail lists', () => {
    expect({ free: lists.free.size > 4000, disposable: lists.disposable.size > 80_000 }).toEqual({
      free: true,
      disposable: true,
    });
  });
});

describe('the email-domain enricher', () => {
  it('adds the classification under the email namespace, versioned by its data', async () => {
    const enricher = emailDomainEnricher({ lists, version });

    const result = await enricher.enrich({
      traits: {},
      email: 'info@web.de',
      context: { now: new Date('2026-06-15T10:00:00Z'), trigger: 'import' },
    });

    expect(result.additions).toEqual({
      email: { domain: 'web.de', freeMail: true, disposable: false, role: true },
    });
    expect(enricher.version).toBe('freemail-1.7.0');
  });

  it('adds nothing for a profile without an email address', async () => {
    const enricher = emailDomainEnricher({ lists, version });

    const result = await enricher.enrich({ traits: {}, context: { now: new Date(), trigger: 'identify' } });

    expect(result.additions).toEqual({});
  });
});
