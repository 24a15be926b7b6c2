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

/** Walks `--flag value` arguments: for each flag, `value()` and `num()` read (and consume) its argument. */
export function* flags(argv: string[], usage: string): Generator<{ flag: string; value(): string; num(): number }> {
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${usage}`);
      return v;
    };
    const num = (): number => {
      const v = Number(value());
      if (!Number.isFinite(v) || v < 0) throw new Error(`${flag} needs a non-negative number`);
      return v;
    };
    yield { flag, value, num };
  }
}
