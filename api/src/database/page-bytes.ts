import type { DataSource, EntityManager } from 'typeorm';

/**
 * Bytes of rows one page of a list, or one batch of an export, holds, about (PostgreSQL's text of
 * the rows, a little more than their JSON): a page stops at its `limit` of rows or at this,
 * whichever comes first, and always holds at least one row. The number of rows alone did not
 * bound a page: a trial may carry 200 parameters of 200-character values, 100 outputs, a 16 KiB
 * effective configuration and a 10,000-character error (about 100 KB), so 500 of them were a
 * 40 MB answer that held the event loop for most of a second and about 100 MB of memory per
 * request in flight; 500 study summaries of 5,000-character descriptions and 100 outputs were
 * 10 MB, 400 runners of long labels and failures 6.3 MB (docs/reliability.md, finding 18). Ordinary rows (under 1 KB) fill a 500-row page long
 * before.
 */
export const PAGE_BYTES = 4 * 1024 * 1024;

/**
 * SQL: `rows` (a subquery already ordered by `order` and limited, its columns named in `order`)
 * cut to `bytesParam` bytes: a row is kept when the rows before it hold less, so the first row
 * always is. The cut is made in the statement, so no more than that reaches Node. Each row carries
 * `page_rows`, the rows before the cut (more than those returned: the bytes cut the page).
 * `order`: `number` or `created_at DESC, id` — columns of `rows`, as in its ORDER BY.
 */
export function withinPageBytes(rows: string, order: string, bytesParam: string): string {
  const orderBy = (alias: string): string =>
    order
      .split(',')
      .map((term) => `${alias}.${term.trim()}`)
      .join(', ');
  return `SELECT sized.* FROM (
            SELECT page.*, count(*) OVER () AS page_rows,
                   sum(octet_length(page::text)) OVER (ORDER BY ${orderBy('page')}) - octet_length(page::text) AS bytes_before
              FROM (${rows}) page
          ) sized
         WHERE sized.bytes_before < ${bytesParam}
         ORDER BY ${orderBy('sized')}`;
}

/** Whether withinPageBytes dropped rows of the page. */
export function cutByBytes(rows: readonly { page_rows?: string | number }[]): boolean {
  return rows.length > 0 && rows.length < Number(rows[0].page_rows);
}

/**
 * How many rows of `rows` (ordered by `order`, limited; its parameters in `values`) fit in
 * PAGE_BYTES: for a list read through the ORM, which then reads that many.
 */
export async function rowsWithinPageBytes(
  db: DataSource | EntityManager,
  rows: string,
  order: string,
  values: readonly unknown[],
): Promise<number> {
  const [{ kept }] = (await db.query(
    `SELECT count(*)::int AS kept FROM (${withinPageBytes(rows, order, `$${values.length + 1}`)}) fitting`,
    [...values, PAGE_BYTES],
  )) as { kept: number }[];
  return kept;
}
