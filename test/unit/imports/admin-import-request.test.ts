// POST /admin/imports reads the CLI's options from the query, the format from Content-Type, and limits the body.
import { describe, expect, it } from 'vitest';
import {
  fileText,
  formatOf,
  ImportRequestError,
  settingsOf,
} from '../../../functions/admin-imports/request.ts';
import { MAX_ADMIN_IMPORT_BYTES } from '../../../functions/imports/admin-import.ts';

describe('admin import options', () => {
  it('takes the CLI’s flags by the same names, with map repeated like --map', () => {
    const settings = settingsOf(
      'kind=subscriptions&user-id=id&email=Email&external-id=crm_id&source=hubspot&timestamp-column=at&map=plan%3Dplan&map=seats%3Dseats%3Ainteger&all-columns=true',
    );

    expect(settings).toEqual({
      kind: 'subscriptions',
      userIdColumn: 'id',
      emailColumn: 'Email',
      externalIdColumn: 'crm_id',
      source: 'hubspot',
      timestampColumn: 'at',
      mappings: [
        { column: 'plan', path: ['plan'], type: 'string' },
        { column: 'seats', path: ['seats'], type: 'integer' },
      ],
      allColumns: true,
    });
  });

  it('refuses an unknown parameter by name, so a typo never imports with a default', () => {
    expect(() => settingsOf('userid=id')).toThrow(/Unknown query parameter "userid"/);
  });

  it('refuses a mapping the CLI would refuse, as a 400', () => {
    expect(() => settingsOf('user-id=id&map=seats%3Dseats%3Aint')).toThrow(
      expect.objectContaining({ status: 400, message: expect.stringContaining('unknown type "int"') }),
    );
  });
});

describe('admin import body', () => {
  it('reads CSV and JSON Lines by Content-Type, parameters and case aside', () => {
    expect(formatOf('text/csv; charset=utf-8')).toBe('csv');
    expect(formatOf('Application/X-NDJSON')).toBe('jsonl');
  });

  it('answers 415 for JSON, which is not a file format the import reads', () => {
    expect(() => formatOf('application/json')).toThrow(expect.objectContaining({ status: 415 }));
  });

  it('answers 413 above the size limit and points to the CLI', () => {
    const body = 'x'.repeat(MAX_ADMIN_IMPORT_BYTES + 1);

    let error: unknown;
    try {
      fileText({ body, isBase64Encoded: false });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ImportRequestError);
    expect(error).toMatchObject({ status: 413, message: expect.stringContaining('CLI') });
  });

  it('decodes a base64 body, as API Gateway delivers JSON Lines', () => {
    expect(fileText({ body: Buffer.from('{"id":1}\n').toString('base64'), isBase64Encoded: true })).toBe(
      '{"id":1}\n',
    );
  });
});
