// PutEvents partial failures injected into the local event bus: the next n entries come back with an ErrorCode.
import * as z from 'zod';

/** Per-entry error codes EventBridge answers inside a 200 PutEvents response. */
export const PUT_EVENTS_ERROR_CODES = ['ThrottlingException', 'InternalFailure'] as const;

export const putEventsFaultSchema = z.strictObject({
  /** How many entries (not calls) fail; the rest of each call is accepted, as in a real partial failure. */
  failEntries: z.int().min(0),
  /** @default ThrottlingException */
  errorCode: z.enum(PUT_EVENTS_ERROR_CODES).default('ThrottlingException'),
});
export type PutEventsFault = z.infer<typeof putEventsFaultSchema>;

const NO_FAULT: PutEventsFault = { failEntries: 0, errorCode: 'ThrottlingException' };

const MESSAGES: Readonly<Record<PutEventsFault['errorCode'], string>> = {
  ThrottlingException: 'Rate exceeded.',
  InternalFailure: 'An internal error occurred while processing the request.',
};

export class PutEventsFaults {
  private fault: PutEventsFault = NO_FAULT;

  set(fault: PutEventsFault): void {
    this.fault = { ...fault };
  }

  clear(): void {
    this.fault = NO_FAULT;
  }

  remaining(): PutEventsFault {
    return { ...this.fault };
  }

  /** The error one entry fails with, counted down; undefined when the entry is accepted. */
  takeForEntry(): { ErrorCode: string; ErrorMessage: string } | undefined {
    if (this.fault.failEntries <= 0) return undefined;
    this.fault = { ...this.fault, failEntries: this.fault.failEntries - 1 };
    return { ErrorCode: this.fault.errorCode, ErrorMessage: MESSAGES[this.fault.errorCode] };
  }
}
