/**
 * Preloaded into each service of `npm start` (`node --import tsx --import <this file> main.ts`): when the stack's
 * IPC channel closes, the stack process is gone (even by SIGKILL, which it cannot catch), so the service sends
 * itself SIGTERM and drains as on Ctrl-C instead of living on without its stack. The channel is unref'd so it
 * never keeps a stopped service alive. Without a channel (the service started on its own) it does nothing.
 *
 * @example
 * spawn(process.execPath, ['--import', 'tsx', '--import', exitWithParentUrl, 'server/tttranscribe/main.ts'], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
 */
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => {
    process.stderr.write('The npm start process is gone; draining and stopping.\n');
    process.kill(process.pid, 'SIGTERM');
  });
}

export {};
