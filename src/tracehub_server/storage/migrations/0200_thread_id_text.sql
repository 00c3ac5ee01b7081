-- thread_id holds what the client sent: a thread name ("main", "MainThread"), an ident as a
-- string ("140245") or, from older clients, an integer ident (kept as its decimal text).
-- Existing values were signed bigints; an unsigned ident was stored as the negative number
-- with the same bits and is converted back, so every row reads as the client sent it.
ALTER TABLE logs ALTER COLUMN thread_id TYPE text
    USING CASE WHEN thread_id < 0 THEN (thread_id::numeric + 18446744073709551616)::text
               ELSE thread_id::text END;
