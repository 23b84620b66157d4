"""The ClickHouse side's SQL: the event table as an ad-tech user would create it, and the
input contract (/work/shared/formats/README.md, adstore's docs/FORMAT.md "Input formats")
written as ClickHouse expressions, so that ClickHouse ingests the same raw files with the
same validation, the same normalization and the same reject reasons as `adstore ingest`.

Every reader yields one row per input record with the event columns plus `reason` ('' when the
row is accepted, else the reject reason's snake_case name, as adstore prints it) and `raw` (the
raw record, kept for rejects only). Checks run in adstore's order (ingest/src/reject.rs):
encoding, field types, required fields, ts (parse, then range), event_type, conversion_type,
money (both forms given, syntax, sign).

Known differences, none of which the generated data exercises: the CSV reader splits on commas
and strips one level of double quotes (a quoted field that contains a comma is not supported);
a JSON object with a repeated key keeps the first value in ClickHouse, the last in adstore; a
line over adstore's line-length limit is a reject there, not here.
"""

EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS events (
    event_id String CODEC(ZSTD(1)),
    event_type LowCardinality(String) CODEC(ZSTD(1)),
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


def days_from_civil(y: str, m: str, d: str) -> str:
    """Howard Hinnant's days_from_civil (as ingest/src/normalize/ts.rs), in SQL over Int64s."""
    yy = f"({y} - ({m} <= 2))"
    era = f"intDiv({yy} - if({yy} < 0, 399, 0), 400)"
    yoe = f"({yy} - {era} * 400)"
    mp = f"(({m} + 9) % 12)"
    doy = f"(intDiv(153 * {mp} + 2, 5) + {d} - 1)"
    doe = f"({yoe} * 365 + intDiv({yoe}, 4) - intDiv({yoe}, 100) + {doy})"
    return f"({era} * 146097 + {doe} - 719468)"


def ts_micros(text: str) -> str:
    """SQL for the µs of a ts text (epoch ms or RFC 3339 with an offset); NULL when it is
    neither (adstore's bad_timestamp)."""
    g = "tsg"
    n = lambda i: f"toInt64OrZero({g}[{i}])"  # noqa: E731 (groups are digits by the regex)
    y, mo, d, h, mi, s = (n(i) for i in range(1, 7))
    days_in_month = (
        f"multiIf({mo} IN (1, 3, 5, 7, 8, 10, 12), 31, {mo} IN (4, 6, 9, 11), 30, "
        f"(({y} % 4 = 0) AND ({y} % 100 != 0)) OR ({y} % 400 = 0), 29, 28)"
    )
    valid = (
        f"length(extractGroups({text}, '{RFC3339}') AS {g}) = 11 AND {mo} BETWEEN 1 AND 12 AND {d} >= 1 AND {d} <= {days_in_month} "
        f"AND {h} <= 23 AND {mi} <= 59 AND {s} <= 59 "
        f"AND ({g}[8] != '' OR ({n(10)} <= 23 AND {n(11)} <= 59))"
    )
    offset = f"if({g}[8] != '', 0, if({g}[9] = '-', -1, 1) * ({n(10)} * 60 + {n(11)}) * 60)"
    frac = f"toInt64(rightPad(substring({g}[7], 1, 6), 6, '0'))"
    secs = f"({days_from_civil(y, mo, d)} * 86400 + {h} * 3600 + {mi} * 60 + {s} - {offset})"
    epoch_ms = f"toInt64OrNull({text})"
    return (
        f"multiIf(match({text}, '^-?[0-9]+$'), "
        f"if(abs(ifNull({epoch_ms}, 0)) <= 9223372036854775 AND {epoch_ms} IS NOT NULL, "
        f"{epoch_ms} * 1000, NULL), "
        f"{valid}, {secs} * 1000000 + {frac}, NULL)"
    )


def integer_micros(text: str) -> str:
    """SQL: (reason, micros) of integer micros text, as parse_integer_micros."""
    v = f"toInt64OrNull({text})"
    return (
        f"multiIf(NOT match({text}, '^-?[0-9]+$') OR {v} IS NULL, ('bad_decimal', toInt64(0)), "
        f"{v} < 0, ('negative_money', toInt64(0)), ('', toInt64(ifNull({v}, 0))))"
    )


def decimal_micros(text: str, name: str) -> str:
    """SQL: (reason, micros) of a decimal in units, exactly as parse_decimal_micros: at most 6
    decimals after the exponent is applied, no float on the way, negative is a reject."""
    g = f"dg_{name}"
    frac_len = f"toInt64(length({g}[3]))"
    exp = f"toInt64OrZero({g}[4])"
    decimals = f"({frac_len} - {exp})"
    mantissa = f"toInt256OrNull(concat({g}[2], {g}[3]))"
    scale = f"(6 - {decimals})"
    micros = (
        f"if(ifNull({mantissa}, 1) = 0, toInt256(0), "
        f"if({scale} > 19, NULL, {mantissa} * toInt256(exp10(least({scale}, 19)))))"
    )
    ok = f"{micros} IS NOT NULL AND {micros} <= 9223372036854775807"
    return (
        f"multiIf(length(extractGroups({text}, '{DECIMAL}') AS {g}) != 4, ('bad_decimal', toInt64(0)), "
        f"{decimals} > 6, ('bad_decimal', toInt64(0)), "
        f"NOT ({ok}), ('bad_decimal', toInt64(0)), "
        f"{g}[1] = '-' AND {micros} != 0, ('negative_money', toInt64(0)), "
        f"('', toInt64({micros})))"
    )


def money(micros_text: str, decimal_text: str, name: str) -> str:
    """SQL: (reason, micros) of money given as integer micros or a decimal, NULL texts absent."""
    return (
        f"multiIf({micros_text} IS NOT NULL AND {decimal_text} IS NOT NULL, ('conflicting_money', toInt64(0)), "
        f"{micros_text} IS NOT NULL, {integer_micros(f'assumeNotNull({micros_text})')}, "
        f"{decimal_text} IS NOT NULL, {decimal_micros(f'assumeNotNull({decimal_text})', name)}, "
        f"('', toInt64(0)))"
    )


def double_micros(x: str) -> str:
    """SQL: (reason, micros) of an Avro double price, as double_to_micros: the shortest decimal
    that reads back as the double, rounded half away from zero at the sixth decimal."""
    dec = f"toDecimal128OrNull(toString(abs({x})), 12)"
    return (
        f"multiIf({x} IS NULL, ('', toInt64(0)), NOT isFinite({x}), ('bad_decimal', toInt64(0)), "
        f"abs({x}) >= 9e12, ('bad_decimal', toInt64(0)), "
        f"{x} < 0 AND round({dec}, 6) != 0, ('negative_money', toInt64(0)), "
        f"('', toInt64(round({dec}, 6) * 1000000)))"
    )


MAX_FIELD_BYTES = 1024
STRING_FIELDS = ["event_id", "campaign_id", "creative_id", "user_id", "site", "country",
                 "device", "os", "conversion_type", "impression_id"]
DEVICE_WORDS = ["mobile", "desktop", "tablet", "ctv", "other"]


def too_long(values: dict[str, str]) -> str:
    """SQL: true when any string field of the event is over MAX_FIELD_BYTES bytes."""
    return " OR ".join(f"length({values.get(f, f)}) > {MAX_FIELD_BYTES}" for f in STRING_FIELDS
                       if values.get(f, f) is not None)


def ts_range_check(micros: str, ts_max: int) -> str:
    return f"{micros} BETWEEN 946684800000000 AND {ts_max}"


def json_select(path: str, ts_max: int) -> str:
    """SELECT over one set of JSON Lines files yielding staging rows."""
    strings = ["event_id", "creative_id", "campaign_id", "user_id", "site", "country",
               "device", "os"]
    wrong = " OR ".join(f"JSONType(line, '{f}') NOT IN ('String', 'Null')" for f in strings)
    money_wrong = " OR ".join(
        f"JSONType(line, '{f}') NOT IN ('String', 'Null', 'Int64', 'UInt64', 'Double')"
        for f in ("ts", "cost_micros", "cost")
    )

    def text_of(f: str) -> str:
        return (
            f"multiIf(JSONType(line, '{f}') = 'String', JSONExtractString(line, '{f}'), "
            f"JSONType(line, '{f}') IN ('Int64', 'UInt64', 'Double'), JSONExtractRaw(line, '{f}'), NULL)"
        )

    return f"""
SELECT _file AS file, line,
    JSONExtractString(line, 'event_id') AS event_id,
    JSONExtractString(line, 'creative_id') AS creative_id,
    JSONExtractString(line, 'campaign_id') AS campaign_id,
    JSONExtractString(line, 'user_id') AS user_id,
    {text_of('ts')} AS ts_text,
    {ts_micros('assumeNotNull(ts_text)')} AS ts_parsed,
    {money(text_of('cost_micros'), text_of('cost'), 'cost')} AS cost,
    multiIf(
        NOT isValidUTF8(line), 'invalid_utf8',
        NOT isValidJSON(line) OR JSONType(line) != 'Object', 'malformed_json',
        {wrong} OR {money_wrong}, 'wrong_type',
        event_id = '' OR ts_text IS NULL OR creative_id = '' OR campaign_id = '' OR user_id = '',
            'missing_field',
        ts_parsed IS NULL, 'bad_timestamp',
        NOT ({ts_range_check('ts_parsed', ts_max)}), 'ts_out_of_range',
        cost.1 != '', cost.1,
        (country_in != '' AND country = '') OR (device_in != '' AND device = ''), 'invalid_value',
        {too_long({"conversion_type": None, "impression_id": None})}, 'field_too_long',
        '') AS reason,
    if(reason = '', '', line) AS raw,
    'impression' AS event_type,
    ifNull(ts_parsed, 0) AS ts,
    JSONExtractString(line, 'site') AS site,
    trimBoth(JSONExtractString(line, 'country')) AS country_in,
    if(country_in = '', '', {country_alpha2('country_in')}) AS country,
    lower(trimBoth(JSONExtractString(line, 'device'))) AS device_in,
    if(has([{", ".join(f"'{w}'" for w in DEVICE_WORDS)}], device_in), device_in, '') AS device,
    JSONExtractString(line, 'os') AS os,
    '' AS conversion_type, '' AS impression_id,
    cost.2 AS cost_micros, toInt64(0) AS revenue_micros, toInt64(0) AS bid_floor_micros,
    toInt64(0) AS bid_price_micros, toInt64(0) AS clearing_price_micros, false AS won
FROM file('{path}', 'LineAsString')
WHERE NOT match(line, '^\\s*$')
"""


def csv_select(path: str, header: list[str], ts_max: int) -> str:
    """SELECT over one CSV file (its header row known) yielding staging rows."""
    idx = {name: i + 1 for i, name in enumerate(header)}

    def cell(name: str) -> str:
        if name not in idx:
            return "CAST(NULL AS Nullable(String))"
        c = f"f[{idx[name]}]"
        unq = f"if(startsWith({c}, '\"') AND endsWith({c}, '\"') AND length({c}) >= 2, " \
              f"replaceAll(substring({c}, 2, length({c}) - 2), '\"\"', '\"'), {c})"
        return f"nullIf({unq}, '')"

    header_line = ",".join(header)
    return f"""
SELECT _file AS file, line,
    splitByChar(',', line) AS f,
    ifNull({cell('event_id')}, '') AS event_id,
    {cell('ts')} AS ts_text,
    ifNull({cell('event_type')}, '') AS event_type,
    ifNull({cell('user_id')}, '') AS user_id,
    ifNull({cell('campaign_id')}, '') AS campaign_id,
    {ts_micros('assumeNotNull(ts_text)')} AS ts_parsed,
    ifNull({cell('conversion_type')}, '') AS conv_type,
    {money(cell('revenue_micros'), cell('revenue'), 'revenue')} AS revenue,
    multiIf(
        length(f) != {len(header)}, 'csv_column_count',
        NOT isValidUTF8(line), 'invalid_utf8',
        event_id = '' OR ts_text IS NULL OR event_type = '' OR user_id = '' OR campaign_id = '',
            'missing_field',
        ts_parsed IS NULL, 'bad_timestamp',
        NOT ({ts_range_check('ts_parsed', ts_max)}), 'ts_out_of_range',
        event_type NOT IN ('click', 'conversion'), 'unknown_event_type',
        event_type = 'conversion' AND conv_type = '', 'conversion_without_type',
        revenue.1 != '', revenue.1,
        {too_long({"site": None, "country": None, "device": None, "os": None})}, 'field_too_long',
        '') AS reason,
    if(reason = '', '', line) AS raw,
    ifNull(ts_parsed, 0) AS ts,
    ifNull({cell('creative_id')}, '') AS creative_id,
    '' AS site, '' AS country, '' AS device, '' AS os,
    if(event_type = 'conversion', conv_type, '') AS conversion_type,
    ifNull({cell('impression_id')}, '') AS impression_id,
    toInt64(0) AS cost_micros, revenue.2 AS revenue_micros, toInt64(0) AS bid_floor_micros,
    toInt64(0) AS bid_price_micros, toInt64(0) AS clearing_price_micros, false AS won
FROM file('{path}', 'LineAsString')
WHERE line != '{header_line}' AND NOT match(line, '^\\s*$')
"""


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


def avro_select(path: str, ts_max: int) -> str:
    """SELECT over Avro bid request files (read against bid_request.avsc) yielding staging rows."""
    devicetype = "tupleElement(a_device, 'devicetype')"
    geo_country = "tupleElement(tupleElement(a_device, 'geo'), 'country')"
    return f"""
SELECT a_file AS file,
    a_id AS event_id,
    toUnixTimestamp64Milli(a_ts) AS ts_ms,
    if(empty(a_imp), CAST(NULL AS Nullable(Float64)), tupleElement(a_imp[1], 'bidfloor')) AS floor_d,
    {double_micros('floor_d')} AS floor,
    {double_micros('a_bid_price')} AS bid,
    {double_micros('a_clearing_price')} AS clearing,
    multiIf(
        event_id = '', 'missing_field',
        abs(ts_ms) > 9223372036854775, 'bad_timestamp',
        NOT ({ts_range_check('ts_ms * 1000', ts_max)}), 'ts_out_of_range',
        floor.1 != '', floor.1,
        bid.1 != '', bid.1,
        clearing.1 != '', clearing.1,
        {too_long({"creative_id": None, "conversion_type": None, "impression_id": None})},
            'field_too_long',
        '') AS reason,
    if(reason = '', '', formatRowNoNewline('JSONEachRow', a_id, a_ts, a_imp, a_site, a_app, a_device,
        a_user, a_campaign_id, a_bid_price, a_won, a_clearing_price)) AS raw,
    'bid_request' AS event_type,
    ts_ms * 1000 AS ts,
    ifNull(a_campaign_id, '') AS campaign_id,
    '' AS creative_id,
    ifNull(tupleElement(a_user, 'id'), '') AS user_id,
    coalesce(tupleElement(a_site, 'domain'), tupleElement(a_app, 'bundle'), '') AS site,
    {country_alpha2(f"ifNull({geo_country}, '')")} AS country,
    multiIf({devicetype} IS NULL, '', {devicetype} IN (1, 4), 'mobile', {devicetype} = 2, 'desktop',
        {devicetype} IN (3, 7), 'ctv', {devicetype} = 5, 'tablet', 'other') AS device,
    ifNull(tupleElement(a_device, 'os'), '') AS os,
    '' AS conversion_type, '' AS impression_id,
    if(a_won, intDiv(clearing.2 + 500, 1000), 0) AS cost_micros,
    toInt64(0) AS revenue_micros,
    floor.2 AS bid_floor_micros, bid.2 AS bid_price_micros, clearing.2 AS clearing_price_micros,
    a_won AS won
FROM (SELECT _file AS a_file, id AS a_id, ts AS a_ts, imp AS a_imp, site AS a_site, app AS a_app,
        device AS a_device, user AS a_user, campaign_id AS a_campaign_id, bid_price AS a_bid_price,
        won AS a_won, clearing_price AS a_clearing_price
    FROM file('{path}', 'Avro', '{AVRO_STRUCTURE}'))
"""
