-- Registry pages keep 30 % free (issue 12). Every sync of a record rewrites its registry row
-- (versions, hash, snapshot, last_synced); none of the indexed columns change, so with room on the
-- page Postgres updates the row in place of its page (a HOT update) instead of adding an entry to
-- each of the table's five indexes. With full pages (the default) almost no update was HOT: a
-- batch of 100 registry updates cost 20-40 % more. Pages written from now on keep the room; a
-- VACUUM FULL (or pg_repack) gives it to the rows already there.
ALTER TABLE sync_registry SET (fillfactor = 70);
