// JSON Lines exports: line splitting, records, dot-path fields and typed values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { convertValue } from '../../../functions/imports/csv-import.ts';
import { jsonFieldReader, LineSplitter, parseJsonLine } from '../../../functions/imports/json-lines.ts';

describe('splitting a stream into lines', () => {
  it('gives the same numbered lines however the text is cut into chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme-ascii' })), fc.array(fc.nat()), (texts, cuts) => {
        const cleanTexts = texts.map((t) => t.replaceAll('\n', ' ').replaceAll('\r', ' '));
        // Every line ends with CRLF, so the file's last newline opens no empty line.
        const whole = cleanTexts.map((t) => `${t}\r\n`).join('');
        const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
        const splitter = new LineSplitter();
        const lines = [0, ...points]
          .map((from, i) => whole.slice(from, [...points, whole.length][i]))
          .flatMap((chunk) => splitter.push(chunk));
        lines.push(...splitter.end());

        expect(lines.map((l) => l.text)).toEqual(cleanTexts);
        expect(lines.map((l) => l.line)).toEqual(cleanTexts.map((_, i) => i + 1));
      }),
    );
  });

  it('keeps only the start of an endless line and flags it', () => {
    const splitter = new LineSplitter(10);

    const lines = [...splitter.push('x'.repeat(25)), ...splitter.push('yy\nok\n')];

    expect(lines).toEqual([
      { text: 'x'.repeat(10), line: 1, tooLong: true },
      { text: 'ok', line: 2, tooLong: false },
    ]);
    expect(parseJsonLine(lines[0] ?? { text: '', line: 0, tooLong: true })).toMatchObject({ ok: false });
  });
});

describe('records', () => {
  it('must each be one JSON object', () => {
    const line = (text: string) => ({ text, line: 1, tooLong: false });

    expect(parseJsonLine(line('{"id":"c-1"}'))).toEqual({ ok: true, record: { id: 'c-1' } });
    expect(parseJsonLine(line('{"id":'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^not JSON/),
    });
    expect(parseJsonLine(line('[1]'))).toMatchObject({ ok: false, reason: expect.stringMatching(/object/) });
  });

  it('address nested fields by dot path and never reach the prototype', () => {
    const read = jsonFieldReader({ subscription: { ends_at: '2027-02-01' }, id: 7 });

    expect(read('subscription.ends_at')).toBe('2027-02-01');
    expect(read('id')).toBe(7);
    expect(read('subscription.missing')).toBeUndefined();
    expect(read('id.toString')).toBeUndefined();
    expect(read('constructor')).toBeUndefined();
  });
});

describe('typed JSON values', () => {
  it('keep numbers, booleans and nested values where the type allows them', () => {
    expect(convertValue({ value: 12.5, type: 'number' })).toEqual({ ok: true, value: 12.5 });
    expect(convertValue({ value: 12, type: 'string' })).toEqual({ ok: true, value: '12' });
    expect(convertValue({ value: 1, type: 'boolean' })).toEqual({ ok: true, value: true });
    expect(convertValue({ value: { a: [1] }, type: 'json' })).toEqual({ ok: true, value: { a: [1] } });
    expect(convertValue({ value: '2027-02-01', type: 'date' })).toEqual({
      ok: true,
      value: '2027-02-01T00:00:00.000Z',
    });
  });

  it('refuse values of the wrong shape, and leave null and blanks out', () => {
    expect(convertValue({ value: 12.5, type: 'integer' })).toMatchObject({ ok: false });
    expect(convertValue({ value: 1_700_000_000, type: 'date' })).toMatchObject({ ok: false });
    expect(convertValue({ value: { a: 1 }, type: 'string' })).toMatchObject({ reason: /map it as :json/ });
    expect(convertValue({ value: null, type: 'string' })).toEqual({ empty: true });
    expect(convertValue({ value: '  ', type: 'number' })).toEqual({ empty: true });
  });
});
