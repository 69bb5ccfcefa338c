// Lambda-like sandbox for one function instance: loads the deployed bundle once, then runs invocations one at a time.

import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

process.setSourceMapsEnabled(true);

// Real time, kept before the clock is shifted: timeouts and getRemainingTimeInMillis are about real seconds.
const realNow = Date.now;

/**
 * The local clock can be moved forward (POST /_local/clock). Like a runtime feature, not handler code: `Date.now()`
 * and `new Date()` read real time plus the offset the local stack shares with every sandbox, read live so that a warm
 * instance sees a change at once. Dates from a value, Date.UTC, Date.parse and instanceof are unchanged.
 */
function shiftClock(buffer) {
  const offset = new BigInt64Array(buffer);
  const RealDate = Date;
  const shiftedNow = () => realNow() + Number(Atomics.load(offset, 0));
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args, newTarget) =>
      Reflect.construct(target, args.length === 0 ? [shiftedNow()] : args, newTarget),
    // Date() called as a function returns the current time as a string.
    apply: () => new RealDate(shiftedNow()).toString(),
    get: (target, property, receiver) =>
      property === 'now' ? shiftedNow : Reflect.get(target, property, receiver),
  });
}

if (workerData.clockBuffer instanceof SharedArrayBuffer) shiftClock(workerData.clockBuffer);

let handlerPromise;

function loadHandler() {
  handlerPromise ??= (async () => {
    let module;
    try {
      module = await import(pathToFileURL(workerData.modulePath).href);
    } catch (error) {
      // A failed init is retried on the next invocation, as Lambda does.
      handlerPromise = undefined;
      if (error?.code === 'ERR_MODULE_NOT_FOUND')
        throw Object.assign(error, { name: 'Runtime.ImportModuleError' });
      throw error;
    }
    const handler = module[workerData.exportName];
    if (typeof handler !== 'function') {
      throw Object.assign(new Error(`${workerData.handler} is undefined or not exported`), {
        name: 'Runtime.HandlerNotFound',
      });
    }
    return handler;
  })();
  return handlerPromise;
}

function serializeError(error) {
  if (error instanceof Error) {
    return { errorType: error.name || 'Error', errorMessage: error.message, stack: error.stack };
  }
  return { errorType: 'Error', errorMessage: String(error) };
}

parentPort.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  const { id, event, context: contextData } = message;
  const context = {
    ...contextData,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, contextData.deadlineMs - realNow()),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    const handler = await loadHandler();
    const value = await new Promise((resolve, reject) => {
      // Callback-style handlers (three parameters) still exist in bundles built for older runtimes.
      const result = handler(event, context, (error, callbackValue) =>
        error ? reject(error) : resolve(callbackValue),
      );
      if (handler.length < 3 || (result && typeof result.then === 'function'))
        Promise.resolve(result).then(resolve, reject);
    });
    parentPort.postMessage({ type: 'result', id, ok: true, value: value === undefined ? null : value });
  } catch (error) {
    parentPort.postMessage({ type: 'result', id, ok: false, error: serializeError(error) });
  }
});

parentPort.postMessage({ type: 'ready' });
