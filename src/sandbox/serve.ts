/** What the stand-alone sandboxes share: run until Ctrl-C / SIGTERM, then close; one line on failure. */
export function runUntilStopped(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

export function exitOnFailure(run: Promise<void>): void {
  run.catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
