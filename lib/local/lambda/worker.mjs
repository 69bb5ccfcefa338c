// Lambda-like sandbox for one function instance: loads the deployed bundle once, then runs invocations one at a time.

import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

process.setSourceMapsEnabled(true);

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
    getRemainingTimeInMillis: () => Math.max(0, contextData.deadlineMs - Date.now()),
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
