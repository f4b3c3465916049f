/**
 * Why a signal aborted, typed as the Error it is: a plain `abort()` or `AbortSignal.timeout()` gives a DOMException
 * (an Error), and every controller in TTTranscribe aborts with an Error (LeaseLost, WorkerShutdown, the fetch and
 * duration limits). The DOM typings say `any`; this names the contract once instead of at each rejection, so a
 * rejection keeps the signal's reason exactly (the worker tells a shutdown from a lost lease by it).
 *
 * @example
 * signal.addEventListener('abort', () => reject(abortReason(signal)), { once: true });
 */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason as Error;
}
