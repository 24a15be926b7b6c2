/**
 * Reads up to `ahead` items of an async source before they are asked for: the source's I/O (the
 * next API page) overlaps with what the consumer does with the current one (writing it) instead
 * of adding up. Order is unchanged; an error is surfaced when its item is reached, after the ones
 * before it; ending early (break, throw) closes the source once the reads under way are answered.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, ahead: number): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const queue: Promise<IteratorResult<T>>[] = [];
  const fill = () => {
    while (queue.length < Math.max(1, ahead)) {
      const next = it.next(); // an async generator answers its calls in order
      next.catch(() => undefined); // surfaced when awaited below
      queue.push(next);
    }
  };
  try {
    for (;;) {
      fill();
      const current = await queue.shift()!;
      if (current.done) return;
      fill(); // while the consumer has this one
      yield current.value;
    }
  } finally {
    await Promise.allSettled(queue);
    await it.return?.();
  }
}
