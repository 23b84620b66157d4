"""The ClickHouse side's SQL: the event table as an ad-tech user would create it, and the
input contract (/work/shared/formats/README.md, adstore's docs/INPUT.md) written as ClickHouse
expressions, so that ClickHouse ingests the same raw files with the same validation, the same
normalization and the same reject reasons as `adstore ingest`.

Every reader yields one row per input record with the event columns plus `reason` ('' when the
row is accepted, else the reject reason's snake_case name, as adstore prints it) and `raw` (the
raw record, kept for rejects only). Checks run in adstore's order (ingest/src/reject.rs):
encoding, field types, required fields, ts (parse, then range), event_type, conversion_type,
money (both forms given, syntax, sign), the country and device vocabularies, then the length
of every string field.

Known differences, none of which the generated data exercises: the CSV reader splits on commas
and strips one level of double quotes (a quoted field that contains a comma is not supported);
a JSON object with a repeated key keeps the first value in ClickHouse, the last in adstore; a
JSON ts given as a float (1.5e12) reaches ClickHouse as its re-printed digits and is accepted,
adstore rejects it; a line over adstore's line-length limit is a reject there, not here.
"""

# event_type is an Enum8 in adstore's order, as adstore's schema has it (DESIGN.md): ORDER BY
# event_type then sorts the same on both sides (a LowCardinality(String) sorts by name).
EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS events (
    event_id String CODEC(ZSTD(1)),
    event_type Enum8('impression' = 1, 'click' = 2, 'conversion' = 3, 'bid_request' = 4) CODEC(ZSTD(1)),
    ts DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    campaign_id LowCardinality(String) CODEC(ZSTD(1)),
    creative_id LowCardinality(String) CODEC(ZSTD(1)),
    user_id String CODEC(ZSTD(1)),
    site LowCardinality(String) CODEC(ZSTD(1)),
    country LowCardinality(String) CODEC(ZSTD(1)),
    device LowCardinality(String) CODEC(ZSTD(1)),
    os LowCardinality(String) CODEC(ZSTD(1)),
    conversion_type LowCardinality(String) CODEC(ZSTD(1)),
    impression_id String CODEC(ZSTD(1)),
    cost_micros Int64 CODEC(T64, ZSTD(1)),
    revenue_micros Int64 CODEC(T64, ZSTD(1)),
    bid_floor_micros Int64 CODEC(T64, ZSTD(1)),
    bid_price_micros Int64 CODEC(T64, ZSTD(1)),
    clearing_price_micros Int64 CODEC(T64, ZSTD(1)),
    won Bool CODEC(ZSTD(1)),
    INDEX user_bloom user_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX event_bloom event_id TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (campaign_id, ts)
"""

DEAD_LETTERS_TABLE = """
CREATE TABLE IF NOT EXISTS dead_letters (
    file String,
    reason LowCardinality(String),
    raw String CODEC(ZSTD(1))
) ENGINE = MergeTree ORDER BY (reason, file)
"""

EVENT_COLUMNS = [
    "event_id", "event_type", "ts", "campaign_id", "creative_id", "user_id", "site",
    "country", "device", "os", "conversion_type", "impression_id", "cost_micros",
    "revenue_micros", "bid_floor_micros", "bid_price_micros", "clearing_price_micros", "won",
]

STAGING_COLUMNS = """
    file String, reason String, raw String,
    event_id String, event_type String, ts Int64, campaign_id String, creative_id String,
    user_id String, site String, country String, device String, os String,
    conversion_type String, impression_id String, cost_micros Int64, revenue_micros Int64,
    bid_floor_micros Int64, bid_price_micros Int64, clearing_price_micros Int64, won Bool
"""

RFC3339 = r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
DECIMAL = r"^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d{1,4}))?$"
I64_MAX = 9223372036854775807
MAX_FIELD_BYTES = 1024
STRING_FIELDS = ["event_id", "campaign_id", "creative_id", "user_id", "site", "country",
                 "device", "os", "conversion_type", "impression_id"]
DEVICE_WORDS = ["mobile", "desktop", "tablet", "ctv", "other"]
NULL_TEXT = "CAST(NULL AS Nullable(String))"

# A reader is a source SELECT and stages on top of it, each `SELECT *, <items> FROM (<below>)`:
# every intermediate value is a column computed once, never an alias that ClickHouse would
# copy into each place that uses it (one flat SELECT of these rules is a query tree of
# hundreds of thousands of nodes, slow to plan and slower to run).


def staged(source: str, stages: list[list[str]]) -> str:
    q = source
    for items in stages:
        q = f"SELECT *, {', '.join(items)} FROM ({q})"
    return q


def days_from_civil(y: str, m: str, d: str) -> str:
    """Howard Hinnant's days_from_civil (as ingest/src/normalize/ts.rs), in SQL over Int64s."""
    yy = f"({y} - ({m} <= 2))"
    era = f"intDiv({yy} - if({yy} < 0, 399, 0), 400)"
    yoe = f"({yy} - {era} * 400)"
    mp = f"(({m} + 9) % 12)"
    doy = f"(intDiv(153 * {mp} + 2, 5) + {d} - 1)"
    doe = f"({yoe} * 365 + intDiv({yoe}, 4) - intDiv({yoe}, 100) + {doy})"
    return f"({era} * 146097 + {doe} - 719468)"


def ts_stages(text: str) -> list[list[str]]:
    """Stages computing `ts_parsed` (Nullable(Int64) µs) from the Nullable(String) column
    `text`: epoch milliseconds, or RFC 3339 with an offset; NULL is adstore's bad_timestamp."""
    parts = ["y", "mo", "d", "h", "mi", "s"]
    dim = ("multiIf(t_mo IN (1, 3, 5, 7, 8, 10, 12), 31, t_mo IN (4, 6, 9, 11), 30, "
           "((t_y % 4 = 0) AND (t_y % 100 != 0)) OR (t_y % 400 = 0), 29, 28)")
    valid = ("t_ok AND t_mo BETWEEN 1 AND 12 AND t_d >= 1 AND t_d <= " + dim +
             " AND t_h <= 23 AND t_mi <= 59 AND t_s <= 59 AND (t_z OR (t_oh <= 23 AND t_om <= 59))")
    offset = "if(t_z, 0, if(t_neg, -1, 1) * (t_oh * 60 + t_om) * 60)"
    secs = f"({days_from_civil('t_y', 't_mo', 't_d')} * 86400 + t_h * 3600 + t_mi * 60 + t_s - {offset})"
    return [
        [f"ifNull({text}, '') AS ts_t0"],
        ["match(ts_t0, '^-?[0-9]+$') AS ts_is_ms", "toInt64OrNull(ts_t0) AS ts_ms",
         f"extractGroups(ts_t0, '{RFC3339}') AS tsg"],
        ["length(tsg) = 11 AS t_ok",
         *(f"toInt64OrZero(tsg[{i + 1}]) AS t_{p}" for i, p in enumerate(parts)),
         "toInt64(rightPad(substring(tsg[7], 1, 6), 6, '0')) AS t_frac",
         "tsg[8] != '' AS t_z", "tsg[9] = '-' AS t_neg",
         "toInt64OrZero(tsg[10]) AS t_oh", "toInt64OrZero(tsg[11]) AS t_om"],
        ["multiIf(ts_is_ms, if(ts_ms IS NOT NULL AND abs(ts_ms) <= 9223372036854775, "
         f"ts_ms * 1000, NULL), {valid}, {secs} * 1000000 + t_frac, NULL) AS ts_parsed"],
    ]


def money_stages(p: str, micros: str, decimal: str) -> list[list[str]]:
    """Stages computing `{p}_reason` ('' or the reject reason) and `{p}_micros` from money given
    as integer micros (`micros`) or a decimal in units (`decimal`), both Nullable(String)
    columns, as parse_integer_micros / parse_decimal_micros: at most 6 decimals once the
    exponent is applied, no float on the way, negative money rejected, both given rejected."""
    dm = (f"if(ifNull({p}_mant, 1) = 0, toInt256(0), if(6 - {p}_dn > 19, NULL, "
          f"{p}_mant * toInt256(exp10(least(6 - {p}_dn, 19)))))")
    reason = (
        f"multiIf({micros} IS NOT NULL AND {decimal} IS NOT NULL, 'conflicting_money', "
        f"{micros} IS NOT NULL, multiIf(NOT {p}_mok OR {p}_mv IS NULL, 'bad_decimal', "
        f"{p}_mv < 0, 'negative_money', ''), "
        f"{decimal} IS NOT NULL, multiIf(NOT {p}_dok OR {p}_dn > 6 OR {p}_dm IS NULL "
        f"OR {p}_dm > {I64_MAX}, 'bad_decimal', {p}_neg AND {p}_dm != 0, 'negative_money', ''), '')"
    )
    value = (f"toInt64(multiIf({p}_reason != '', 0, {micros} IS NOT NULL, ifNull({p}_mv, 0), "
             f"{decimal} IS NOT NULL, ifNull({p}_dm, 0), 0))")
    return [
        [f"extractGroups(ifNull({decimal}, ''), '{DECIMAL}') AS {p}_dg",
         f"toInt64OrNull({micros}) AS {p}_mv",
         f"match(ifNull({micros}, ''), '^-?[0-9]+$') AS {p}_mok"],
        [f"length({p}_dg) = 4 AS {p}_dok",
         f"toInt64(length({p}_dg[3])) - toInt64OrZero({p}_dg[4]) AS {p}_dn",
         f"toInt256OrNull(concat({p}_dg[2], {p}_dg[3])) AS {p}_mant",
         f"{p}_dg[1] = '-' AS {p}_neg"],
        [f"{dm} AS {p}_dm"],
        [f"{reason} AS {p}_reason"],
        [f"{value} AS {p}_micros"],
    ]


def double_stages(p: str, x: str) -> list[list[str]]:
    """Stages computing `{p}_reason` and `{p}_micros` from a Nullable(Float64) Avro price, as
    double_to_micros: the shortest decimal that reads back as the double, rounded half away
    from zero at the sixth decimal; NaN and infinities rejected, negative money rejected."""
    return [
        [f"toDecimal128OrNull(toString(abs({x})), 12) AS {p}_dec"],
        [f"multiIf({x} IS NULL, '', NOT isFinite({x}), 'bad_decimal', abs({x}) >= 9e12, "
         f"'bad_decimal', {x} < 0 AND round({p}_dec, 6) != 0, 'negative_money', '') AS {p}_reason"],
        [f"if({p}_reason != '' OR {x} IS NULL, toInt64(0), "
         f"toInt64(round({p}_dec, 6) * 1000000)) AS {p}_micros"],
    ]


def too_long(fields: list[str]) -> str:
    """SQL: true when any of these string columns is over MAX_FIELD_BYTES bytes."""
    return " OR ".join(f"length({f}) > {MAX_FIELD_BYTES}" for f in fields)


def ts_range_check(micros: str, ts_max: int) -> str:
    return f"{micros} BETWEEN 946684800000000 AND {ts_max}"


def country_alpha2(code: str) -> str:
    """SQL: alpha-3 (any case) to alpha-2, an alpha-2 kept, anything else ''."""
    from iso_country import ALPHA3_TO_ALPHA2

    a3 = ", ".join(f"'{k}'" for k in ALPHA3_TO_ALPHA2)
    a2 = ", ".join(f"'{v}'" for v in ALPHA3_TO_ALPHA2.values())
    c = f"upper(trimBoth({code}))"
    return (
        f"multiIf(length({c}) = 3, transform({c}, [{a3}], [{a2}], ''), "
        f"length({c}) = 2 AND has([{a2}], {c}), {c}, '')"
    )


def json_select(path: str, ts_max: int) -> str:
    """Staging rows from JSON Lines impressions."""
    strings = ["event_id", "creative_id", "campaign_id", "user_id", "site", "country",
               "device", "os"]
    wrong = " OR ".join(f"JSONType(line, '{f}') NOT IN ('String', 'Null')" for f in strings)
    wrong_num = " OR ".join(
        f"JSONType(line, '{f}') NOT IN ('String', 'Null', 'Int64', 'UInt64', 'Double')"
        for f in ("ts", "cost_micros", "cost")
    )

    def text_of(f: str) -> str:
        return (
            f"multiIf(JSONType(line, '{f}') = 'String', JSONExtractString(line, '{f}'), "
            f"JSONType(line, '{f}') IN ('Int64', 'UInt64', 'Double'), JSONExtractRaw(line, '{f}'), "
            f"{NULL_TEXT})"
        )

    source = (f"SELECT _file AS file, line FROM file('{path}', 'LineAsString') "
              "WHERE NOT match(line, '^\\\\s*$')")
    devices = ", ".join(f"'{w}'" for w in DEVICE_WORDS)
    return staged(source, [
        ["NOT isValidUTF8(line) AS j_bad_utf8",
         "NOT isValidJSON(line) OR JSONType(line) != 'Object' AS j_malformed",
         f"{wrong} OR {wrong_num} AS j_wrong",
         *(f"JSONExtractString(line, '{f}') AS {f}"
           for f in ("event_id", "creative_id", "campaign_id", "user_id", "site", "os")),
         "trimBoth(JSONExtractString(line, 'country')) AS country_in",
         "lower(trimBoth(JSONExtractString(line, 'device'))) AS device_in",
         f"{text_of('ts')} AS ts_text",
         f"{text_of('cost_micros')} AS cost_micros_text",
         f"{text_of('cost')} AS cost_text"],
        *ts_stages("ts_text"),
        *money_stages("cst", "cost_micros_text", "cost_text"),
        [f"if(country_in = '', '', {country_alpha2('country_in')}) AS country",
         f"if(has([{devices}], device_in), device_in, '') AS device"],
        ["multiIf(j_bad_utf8, 'invalid_utf8', j_malformed, 'malformed_json', j_wrong, 'wrong_type', "
         "event_id = '' OR ts_text IS NULL OR creative_id = '' OR campaign_id = '' OR user_id = '', "
         "'missing_field', ts_parsed IS NULL, 'bad_timestamp', "
         f"NOT ({ts_range_check('ts_parsed', ts_max)}), 'ts_out_of_range', "
         "cst_reason != '', cst_reason, "
         "(country_in != '' AND country = '') OR (device_in != '' AND device = ''), 'invalid_value', "
         f"{too_long(['event_id', 'campaign_id', 'creative_id', 'user_id', 'site', 'country', 'device', 'os'])}, "
         "'field_too_long', '') AS reason"],
        ["if(reason = '', '', line) AS raw", "'impression' AS event_type",
         "ifNull(ts_parsed, 0) AS ts", "'' AS conversion_type", "'' AS impression_id",
         "cst_micros AS cost_micros", "toInt64(0) AS revenue_micros",
         "toInt64(0) AS bid_floor_micros", "toInt64(0) AS bid_price_micros",
         "toInt64(0) AS clearing_price_micros", "false AS won"],
    ])


JSON_FIELDS = ["event_id", "ts", "creative_id", "campaign_id", "user_id", "site", "country",
               "device", "os", "cost_micros", "cost"]
NATIVE_JSON_SETTINGS = (
    "input_format_allow_errors_ratio = 0.01, input_format_allow_errors_num = 100000000, "
    "input_format_skip_unknown_fields = 1, input_format_json_read_numbers_as_strings = 1"
)


def json_native_select(path: str, ts_max: int) -> str:
    """Staging rows from JSON Lines impressions read by ClickHouse's own JSONEachRow parser
    (every field as Nullable(String), numbers as their text), with the same normalization,
    value checks and reasons from the required fields on. What it cannot do: keep or classify
    the rows its parser refuses (malformed JSON, invalid UTF-8: skipped and only counted in
    the log) and see a wrong JSON type (a number where a string belongs is read as its text).
    Run with NATIVE_JSON_SETTINGS."""
    struct = ", ".join(f"{c} Nullable(String)" for c in JSON_FIELDS)
    source = ("SELECT _file AS file, '' AS line, " + ", ".join(f"{c} AS n_{c}" for c in JSON_FIELDS)
              + f" FROM file('{path}', 'JSONEachRow', '{struct}')")
    devices = ", ".join(f"'{w}'" for w in DEVICE_WORDS)
    return staged(source, [
        [*(f"ifNull(n_{f}, '') AS {f}"
           for f in ("event_id", "creative_id", "campaign_id", "user_id", "site", "os")),
         "trimBoth(ifNull(n_country, '')) AS country_in",
         "lower(trimBoth(ifNull(n_device, ''))) AS device_in",
         "n_ts AS ts_text"],
        *ts_stages("ts_text"),
        *money_stages("cst", "n_cost_micros", "n_cost"),
        [f"if(country_in = '', '', {country_alpha2('country_in')}) AS country",
         f"if(has([{devices}], device_in), device_in, '') AS device"],
        ["multiIf(event_id = '' OR ts_text IS NULL OR creative_id = '' OR campaign_id = '' "
         "OR user_id = '', 'missing_field', ts_parsed IS NULL, 'bad_timestamp', "
         f"NOT ({ts_range_check('ts_parsed', ts_max)}), 'ts_out_of_range', "
         "cst_reason != '', cst_reason, "
         "(country_in != '' AND country = '') OR (device_in != '' AND device = ''), 'invalid_value', "
         f"{too_long(['event_id', 'campaign_id', 'creative_id', 'user_id', 'site', 'country', 'device', 'os'])}, "
         "'field_too_long', '') AS reason"],
        ["'' AS raw", "'impression' AS event_type",
         "ifNull(ts_parsed, 0) AS ts", "'' AS conversion_type", "'' AS impression_id",
         "cst_micros AS cost_micros", "toInt64(0) AS revenue_micros",
         "toInt64(0) AS bid_floor_micros", "toInt64(0) AS bid_price_micros",
         "toInt64(0) AS clearing_price_micros", "false AS won"],
    ])


def csv_select(path: str, header: list[str], ts_max: int) -> str:
    """Staging rows from one CSV file whose header row is `header`."""
    idx = {name: i + 1 for i, name in enumerate(header)}

    def cell(name: str) -> str:
        if name not in idx:
            return NULL_TEXT
        c = f"f[{idx[name]}]"
        unq = (f"if(startsWith({c}, '\"') AND endsWith({c}, '\"') AND length({c}) >= 2, "
               f"replaceAll(substring({c}, 2, length({c}) - 2), '\"\"', '\"'), {c})")
        return f"nullIf({unq}, '')"

    header_line = ",".join(header).replace("'", "\\'")
    source = (f"SELECT _file AS file, line, splitByChar(',', line) AS f "
              f"FROM file('{path}', 'LineAsString') "
              f"WHERE line != '{header_line}' AND NOT match(line, '^\\\\s*$')")
    return staged(source, [
        [*(f"ifNull({cell(c)}, '') AS {c}" for c in
           ("event_id", "event_type", "user_id", "campaign_id", "creative_id", "impression_id")),
         f"ifNull({cell('conversion_type')}, '') AS conv_type",
         f"{cell('ts')} AS ts_text",
         f"{cell('revenue_micros')} AS revenue_micros_text",
         f"{cell('revenue')} AS revenue_text"],
        *ts_stages("ts_text"),
        *money_stages("rev", "revenue_micros_text", "revenue_text"),
        ["if(event_type = 'conversion', conv_type, '') AS conversion_type"],
        [f"multiIf(length(f) != {len(header)}, 'csv_column_count', "
         "NOT isValidUTF8(line), 'invalid_utf8', "
         "event_id = '' OR ts_text IS NULL OR event_type = '' OR user_id = '' OR campaign_id = '', "
         "'missing_field', ts_parsed IS NULL, 'bad_timestamp', "
         f"NOT ({ts_range_check('ts_parsed', ts_max)}), 'ts_out_of_range', "
         "event_type NOT IN ('click', 'conversion'), 'unknown_event_type', "
         "event_type = 'conversion' AND conv_type = '', 'conversion_without_type', "
         "rev_reason != '', rev_reason, "
         f"{too_long(['event_id', 'campaign_id', 'creative_id', 'user_id', 'conversion_type', 'impression_id'])}, "
         "'field_too_long', '') AS reason"],
        ["if(reason = '', '', line) AS raw", "ifNull(ts_parsed, 0) AS ts",
         "'' AS site", "'' AS country", "'' AS device", "'' AS os",
         "toInt64(0) AS cost_micros", "rev_micros AS revenue_micros",
         "toInt64(0) AS bid_floor_micros", "toInt64(0) AS bid_price_micros",
         "toInt64(0) AS clearing_price_micros", "false AS won"],
    ])


AVRO_STRUCTURE = (
    "id String, ts DateTime64(3), "
    "imp Array(Tuple(id String, tagid Nullable(String), bidfloor Float64, bidfloorcur String)), "
    "site Nullable(Tuple(domain String, page Nullable(String))), "
    "app Nullable(Tuple(bundle String)), "
    "device Nullable(Tuple(devicetype Nullable(Int32), os Nullable(String), ua Nullable(String), "
    "geo Nullable(Tuple(country Nullable(String), region Nullable(String))))), "
    "user Nullable(Tuple(id Nullable(String), buyeruid Nullable(String))), "
    "campaign_id Nullable(String), bid_price Nullable(Float64), won Bool, "
    "clearing_price Nullable(Float64)"
)


def avro_select(path: str, ts_max: int) -> str:
    """Staging rows from Avro bid request files, read against bid_request.avsc's fields."""
    source = (
        "SELECT _file AS file, id AS a_id, ts AS a_ts, imp AS a_imp, site AS a_site, app AS a_app, "
        "device AS a_device, user AS a_user, campaign_id AS a_campaign_id, "
        "bid_price AS a_bid_price, won AS a_won, clearing_price AS a_clearing_price "
        f"FROM file('{path}', 'Avro', '{AVRO_STRUCTURE}')"
    )
    devicetype = "tupleElement(a_device, 'devicetype')"
    geo_country = "ifNull(tupleElement(tupleElement(a_device, 'geo'), 'country'), '')"
    return staged(source, [
        ["a_id AS event_id", "toUnixTimestamp64Milli(a_ts) AS ts_ms",
         "if(empty(a_imp), CAST(NULL AS Nullable(Float64)), tupleElement(a_imp[1], 'bidfloor')) AS floor_d",
         "ifNull(a_campaign_id, '') AS campaign_id",
         "ifNull(tupleElement(a_user, 'id'), '') AS user_id",
         "coalesce(tupleElement(a_site, 'domain'), tupleElement(a_app, 'bundle'), '') AS site",
         f"{country_alpha2(geo_country)} AS country",
         f"multiIf({devicetype} IS NULL, '', {devicetype} IN (1, 4), 'mobile', {devicetype} = 2, "
         f"'desktop', {devicetype} IN (3, 7), 'ctv', {devicetype} = 5, 'tablet', 'other') AS device",
         "ifNull(tupleElement(a_device, 'os'), '') AS os"],
        *double_stages("floor", "floor_d"),
        *double_stages("bid", "a_bid_price"),
        *double_stages("clearing", "a_clearing_price"),
        ["multiIf(event_id = '', 'missing_field', "
         "abs(ts_ms) > 9223372036854775, 'bad_timestamp', "
         f"NOT ({ts_range_check('ts_ms * 1000', ts_max)}), 'ts_out_of_range', "
         "floor_reason != '', floor_reason, bid_reason != '', bid_reason, "
         "clearing_reason != '', clearing_reason, "
         f"{too_long(['event_id', 'campaign_id', 'user_id', 'site', 'country', 'device', 'os'])}, "
         "'field_too_long', '') AS reason"],
        ["if(reason = '', '', formatRowNoNewline('JSONEachRow', a_id, a_ts, a_imp, a_site, a_app, "
         "a_device, a_user, a_campaign_id, a_bid_price, a_won, a_clearing_price)) AS raw",
         "'bid_request' AS event_type", "ts_ms * 1000 AS ts", "'' AS creative_id",
         "'' AS conversion_type", "'' AS impression_id",
         "if(a_won, intDiv(clearing_micros + 500, 1000), 0) AS cost_micros",
         "toInt64(0) AS revenue_micros", "floor_micros AS bid_floor_micros",
         "bid_micros AS bid_price_micros", "clearing_micros AS clearing_price_micros",
         "a_won AS won"],
    ])
