// Function crashes injected into the local function pool: before, part-way through, or after a batch's side effects.
import * as z from 'zod';

export const functionFaultSchema = z.strictObject({
  /** The function: the start of its logical id (e.g. `MessagingSender`) or part of its name. */
  function: z.string().min(1),
  /**
   * When the sandbox dies: `beforeInvoke` (nothing ran), `afterRecords` (the first `records` records of the batch
   * were processed, then the crash), `afterInvoke` (everything ran, side effects included; the answer is lost).
   * @default afterInvoke
   */
  crash: z.enum(['beforeInvoke', 'afterRecords', 'afterInvoke']).default('afterInvoke'),
  /** For `afterRecords`: records processed before the crash. @default 1 */
  records: z.int().min(0).default(1),
  /** How many invocations crash. */
  count: z.int().min(1),
  /**
   * Queue messages of a crashed batch become visible again after this many seconds instead of the queue's
   * visibility timeout (minutes), so a drill finishes quickly. @default the queue's visibility timeout
   */
  redeliverAfterSeconds: z.int().min(0).max(43_200).optional(),
});
export type FunctionFault = z.infer<typeof functionFaultSchema>;
export type FunctionFaultInput = z.input<typeof functionFaultSchema>;

export interface FaultableFunction {
  readonly logicalId: string;
  readonly functionName: string;
}

export class FunctionFaults {
  private faults: FunctionFault[] = [];

  set(faults: readonly FunctionFaultInput[]): void {
    this.faults = faults.map((fault) => functionFaultSchema.parse(fault));
  }

  clear(): void {
    this.faults = [];
  }

  remaining(): readonly FunctionFault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  /** The crash this invocation of the function suffers, counted down; undefined when it runs normally. */
  take(target: FaultableFunction): FunctionFault | undefined {
    const index = this.faults.findIndex(
      (fault) => target.logicalId.startsWith(fault.function) || target.functionName.includes(fault.function),
    );
    const fault = this.faults[index];
    if (fault === undefined) return undefined;
    if (fault.count <= 1) this.faults.splice(index, 1);
    else this.faults[index] = { ...fault, count: fault.count - 1 };
    return fault;
  }
}

/** The part of an event a crash after `records` records got to process: a prefix of an SQS or stream batch. */
export function eventBeforeCrash(event: unknown, fault: FunctionFault): unknown {
  if (fault.crash !== 'afterRecords' || typeof event !== 'object' || event === null) return event;
  const records: unknown = Reflect.get(event, 'Records');
  if (!Array.isArray(records)) return event;
  return { ...event, Records: records.slice(0, fault.records) };
}
