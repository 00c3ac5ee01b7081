-- Daily partitions of logs, created ahead of time and on demand by any process.
--
-- Several workers may need the same new day at once. The function re-checks under an
-- advisory transaction lock (one lock for all partition DDL: creating a partition locks the
-- parent anyway, so nothing is lost by serialising), and duplicate_table is caught as a last
-- resort, so a concurrent creator never fails.

CREATE FUNCTION tracehub_log_partition_name(day date) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT 'logs_p' || to_char(day, 'YYYYMMDD') || CASE WHEN day < date '0001-01-01' THEN 'bc' ELSE '' END
$$;

CREATE FUNCTION tracehub_ensure_log_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    part   text := tracehub_log_partition_name(day);
    lower_ts timestamptz := day::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass(quote_ident(part)) IS NOT NULL THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_xact_lock(7310299750468072046);  -- "tracehub partitions"
    IF to_regclass(quote_ident(part)) IS NOT NULL THEN
        RETURN false;
    END IF;
    BEGIN
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF logs FOR VALUES FROM (%L) TO (%L)',
            part, lower_ts, lower_ts + interval '1 day');
    EXCEPTION WHEN duplicate_table THEN
        RETURN false;
    END;
    RETURN true;
END
$$;

-- Days in ascending order, so two callers with overlapping sets take locks in one order.
CREATE FUNCTION tracehub_ensure_log_partitions(days date[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d date;
    created integer := 0;
BEGIN
    FOR d IN SELECT DISTINCT x FROM unnest(days) AS x WHERE x IS NOT NULL ORDER BY x LOOP
        IF tracehub_ensure_log_partition(d) THEN
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;
