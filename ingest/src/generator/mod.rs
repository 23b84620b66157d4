//! The traffic generator behind `adstore gen`: a deterministic week of AdvertiseX traffic in the
//! three input formats, plus `truth.json` ([`Truth`]), what an ingest must find.
//!
//! What it writes in the output folder, one file per UTC day and format:
//! - `impressions-<d>.jsonl` (day 1 `.jsonl.gz`, day 3 `.jsonl.zst`): impressions with `ts` as
//!   epoch ms, RFC 3339 `Z` with µs, RFC 3339 with an offset and ms, or whole seconds; cost as
//!   `cost_micros`, a decimal `cost` number or string, or absent; now and then an unknown field
//!   or an escaped string.
//! - `events-<d>.csv` (day 2 `.csv.gz`, day 5 `.csv.zst`): clicks and conversions, columns in a
//!   different order each day (even days also carry `revenue_micros` beside `revenue`).
//! - `bid_requests-<d>.avro`: bid requests, codec null, deflate, snappy, zstandard by day.
//!
//! The world (`world`): ~2,000 campaigns with Zipf-skewed traffic, 25 creatives each, 5,000
//! sites, 20 countries, 4 device types, `impressions / 2` users (1,000 to 5 million), a diurnal
//! curve; CTR 1–2 % per campaign, 3–8 % of clicks converting (purchases with revenue), clicks
//! and conversions naming their impression, one bid request per ~10 impressions (~35 % of bids
//! won). About 0.5 % of rows are resent copies (in the same file or the next day's), about
//! 0.1 % are malformed, cycling through every reject reason each format can produce; day 0
//! opens with one malformed row of each.
//!
//! The truth is counted from the values the generator chose, not by decoding what it wrote.
//!
//! Modules: `world` (entities, distributions, text encodings), `malformed` (one row per reject
//! reason), `avro` (bid-request values, deterministic container headers), `sink` (plain, gzip
//! or zstd output files), `truth` ([`Truth`]).

mod avro;
mod malformed;
mod sink;
mod truth;
mod world;

use std::io::Write;
use std::path::Path;

use apache_avro::types::Value;
use apache_avro::{Codec, DeflateSettings, ZstandardSettings};
use rand::Rng;

use self::avro::{BidFields, avro_header, bid_value, imp_value, micros_f64};
use self::sink::Sink;
use self::truth::{Accepted, TruthBuilder};
pub use self::truth::{MoneyTotals, Truth};
use self::world::{COUNTRIES, DEVICES, World, bundle_name, decimal, rfc3339, site_name};
use crate::decode::Compression;
use crate::error::{Error, IoContext, Result};
use crate::reject::RejectReason;

/// Parameters of `adstore gen`.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Distinct valid impressions to generate.
    pub impressions: u64,
    /// RNG seed: the same seed and options give byte-identical files.
    pub seed: u64,
    /// First UTC day, as days since 1970-01-01 (default 2025-11-15).
    pub first_day: i64,
    /// Days of traffic (default 7).
    pub days: u32,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            impressions: 1_000_000,
            seed: 42,
            first_day: 20_407,
            days: 7,
        }
    }
}

const DUP_RATE: f64 = 0.005;
const BAD_RATE: f64 = 0.001;
const MICROS_PER_DAY: i64 = 86_400_000_000;

const JSON_BAD: [RejectReason; 11] = [
    RejectReason::MalformedJson,
    RejectReason::InvalidUtf8,
    RejectReason::WrongType,
    RejectReason::MissingField,
    RejectReason::BadTimestamp,
    RejectReason::TsOutOfRange,
    RejectReason::BadDecimal,
    RejectReason::NegativeMoney,
    RejectReason::ConflictingMoney,
    RejectReason::FieldTooLong,
    RejectReason::InvalidValue,
];
const CSV_BAD: [RejectReason; 11] = [
    RejectReason::CsvColumnCount,
    RejectReason::InvalidUtf8,
    RejectReason::MissingField,
    RejectReason::BadTimestamp,
    RejectReason::TsOutOfRange,
    RejectReason::UnknownEventType,
    RejectReason::ConversionWithoutType,
    RejectReason::BadDecimal,
    RejectReason::NegativeMoney,
    RejectReason::ConflictingMoney,
    RejectReason::FieldTooLong,
];
const AVRO_BAD: [RejectReason; 5] = [
    RejectReason::MissingField,
    RejectReason::TsOutOfRange,
    RejectReason::NegativeMoney,
    RejectReason::BadDecimal,
    RejectReason::FieldTooLong,
];

/// A click or conversion waiting for its day's CSV file.
#[derive(Debug, Clone)]
struct CsvEvent {
    id: String,
    ts: i64,
    conversion: bool,
    user: u64,
    campaign: usize,
    creative: usize,
    impression: String,
    conversion_type: &'static str,
    revenue: i64,
}

struct Gen {
    w: World,
    truth: TruthBuilder,
    serial: u64,
    bad_next: [usize; 3],
    csv_days: Vec<Vec<CsvEvent>>,
}

/// Writes the traffic and `truth.json` into `out` (created if needed); returns the truth.
pub fn generate(out: &Path, options: &GenOptions) -> Result<Truth> {
    if options.days == 0 {
        return Err(Error::InvalidArgument("days must be at least 1".into()));
    }
    std::fs::create_dir_all(out).io("create", out)?;
    let days = options.days as usize;
    let mut g = Gen {
        w: World::new(options.seed, options.impressions),
        truth: TruthBuilder::default(),
        serial: 0,
        bad_next: [0; 3],
        csv_days: vec![Vec::new(); days],
    };
    g.truth.truth.seed = options.seed;
    g.truth.truth.impressions = options.impressions;
    let schema = crate::decode::reader_schema();
    let mut json_carry: Vec<Vec<u8>> = Vec::new();
    let mut avro_carry: Vec<Value> = Vec::new();
    for day in 0..days {
        let jcomp = match day {
            1 => Compression::Gzip,
            3 => Compression::Zstd,
            _ => Compression::None,
        };
        let jname = format!("impressions-{day}.jsonl{}", ext(jcomp));
        let jpath = out.join(&jname);
        let mut json = Sink::create(&jpath, jcomp)?;
        let aname = format!("bid_requests-{day}.avro");
        let apath = out.join(&aname);
        let codec = match day % 4 {
            0 => Codec::Null,
            1 => Codec::Deflate(DeflateSettings::default()),
            2 => Codec::Snappy,
            _ => Codec::Zstandard(ZstandardSettings::default()),
        };
        let mut afile =
            std::io::BufWriter::new(std::fs::File::create(&apath).io("create", &apath)?);
        // A sync marker from the seed, not a random one: the same seed gives identical files.
        let mut key = options.seed.to_le_bytes().to_vec();
        key.extend_from_slice(&(day as u64).to_le_bytes());
        let marker = xxhash_rust::xxh3::xxh3_128(&key).to_le_bytes();
        // apache-avro writes header metadata in hash-map order; write the header here so the
        // same seed gives byte-identical files.
        afile
            .write_all(&avro_header(&codec, marker))
            .io("write", &apath)?;
        let mut avro = apache_avro::Writer::builder()
            .schema(schema)
            .writer(afile)
            .codec(codec)
            .marker(marker)
            .has_header(true)
            .build();
        let avro_err = |e: apache_avro::Error| Error::Io {
            op: "write avro",
            path: apath.clone(),
            error: std::io::Error::other(e.to_string()),
        };
        let mut json_same: Vec<Vec<u8>> = Vec::new();
        let mut avro_same: Vec<Value> = Vec::new();
        for line in json_carry.drain(..) {
            json.write_all(&line).io("write", &jpath)?;
        }
        for v in avro_carry.drain(..) {
            avro.append(v).map_err(avro_err)?;
        }
        if day == 0 {
            for reason in JSON_BAD {
                let line = g.bad_json(reason, options.first_day);
                json.write_all(&line).io("write", &jpath)?;
            }
            for reason in AVRO_BAD {
                let v = g.bad_avro(reason, options.first_day);
                avro.append(v).map_err(avro_err)?;
            }
        }
        let per_day = options.impressions / u64::from(options.days)
            + u64::from((day as u64) < options.impressions % u64::from(options.days));
        let day_start = (options.first_day + day as i64) * MICROS_PER_DAY;
        let mut times: Vec<i64> = (0..per_day)
            .map(|_| day_start + g.w.time_of_day())
            .collect();
        times.sort_unstable();
        for ts in times {
            let (line, imp) = g.impression(ts, options.first_day, days);
            json.write_all(&line).io("write", &jpath)?;
            if g.w.chance(DUP_RATE) {
                g.truth.duplicate();
                // The resent line's unknown field is seen (and counted) again.
                if line.windows(6).any(|w| w == b",\"ua\":") {
                    g.truth.truth.unknown_fields += 1;
                }
                if day + 1 < days && g.w.chance(0.5) {
                    json_carry.push(line);
                } else {
                    json_same.push(line);
                }
            }
            if g.w.chance(BAD_RATE) {
                let reason = g.next_bad(0, &JSON_BAD, None);
                let line = g.bad_json(reason, options.first_day);
                json.write_all(&line).io("write", &jpath)?;
            }
            if g.w.chance(0.1) {
                let v = g.bid_request(&imp);
                avro.append(v.clone()).map_err(avro_err)?;
                if g.w.chance(DUP_RATE) {
                    g.truth.duplicate();
                    if day + 1 < days && g.w.chance(0.5) {
                        avro_carry.push(v);
                    } else {
                        avro_same.push(v);
                    }
                }
                if g.w.chance(BAD_RATE) {
                    let reason = g.next_bad(2, &AVRO_BAD, None);
                    let v = g.bad_avro(reason, options.first_day);
                    avro.append(v).map_err(avro_err)?;
                }
            }
        }
        for line in json_same {
            json.write_all(&line).io("write", &jpath)?;
        }
        for v in avro_same {
            avro.append(v).map_err(avro_err)?;
        }
        json.finish(&jpath)?;
        avro.into_inner()
            .map_err(avro_err)?
            .flush()
            .io("write", &apath)?;
        g.truth.truth.files.push(jname);
        g.truth.truth.files.push(aname);
    }
    g.write_csv_files(out, options.first_day)?;
    g.truth.truth.files.sort();
    let truth = g.truth.finish();
    let text = serde_json::to_string_pretty(&truth)
        .map_err(|e| Error::InvalidArgument(format!("truth.json: {e}")))?;
    let tpath = out.join("truth.json");
    std::fs::write(&tpath, text + "\n").io("write", &tpath)?;
    Ok(truth)
}

fn ext(c: Compression) -> &'static str {
    match c {
        Compression::None => "",
        Compression::Gzip => ".gz",
        Compression::Zstd => ".zst",
    }
}

/// What a bid request inherits from its impression.
struct ImpInfo {
    ts: i64,
    user: u64,
    campaign: usize,
    site: usize,
    country: usize,
    device: usize,
}

impl Gen {
    fn next_id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}-{:09}", self.serial)
    }

    fn next_bad(
        &mut self,
        format: usize,
        kinds: &[RejectReason],
        skip: Option<RejectReason>,
    ) -> RejectReason {
        loop {
            let r = kinds[self.bad_next[format] % kinds.len()];
            self.bad_next[format] += 1;
            if Some(r) != skip {
                return r;
            }
        }
    }

    /// One valid impression line; schedules its click, conversion.
    fn impression(&mut self, ts: i64, first_day: i64, days: usize) -> (Vec<u8>, ImpInfo) {
        let id = self.next_id("imp");
        let campaign = self.w.campaign();
        let creative = self.w.creative(campaign);
        let user = self.w.user();
        let site = self.w.site();
        let country = self.w.country();
        let device = self.w.device();
        let os = self.w.os(device);
        let r: f64 = self.w.rng.random();
        let (ts, ts_text) = if r < 0.5 {
            let ms = ts.div_euclid(1000);
            (ms * 1000, ms.to_string())
        } else if r < 0.8 {
            (ts, format!("\"{}\"", rfc3339(ts, 0, 6)))
        } else if r < 0.9 {
            const OFFSETS: [i64; 5] = [330, -480, 60, -300, 540];
            let ts = ts.div_euclid(1000) * 1000;
            let off = OFFSETS[self.w.rng.random_range(0..OFFSETS.len())];
            (ts, format!("\"{}\"", rfc3339(ts, off, 3)))
        } else {
            let ts = ts.div_euclid(1_000_000) * 1_000_000;
            (ts, format!("\"{}\"", rfc3339(ts, 0, 0)))
        };
        let cost: i64 = self.w.rng.random_range(300..=20_000);
        let m: f64 = self.w.rng.random();
        let (cost, money) = if m < 0.5 {
            (cost, format!(",\"cost_micros\":{cost}"))
        } else if m < 0.8 {
            (cost, format!(",\"cost\":{}", decimal(cost, 0)))
        } else if m < 0.95 {
            (cost, format!(",\"cost\":\"{}\"", decimal(cost, 0)))
        } else {
            (0, String::new())
        };
        let site_text = if self.w.chance(0.02) {
            String::new()
        } else if self.w.chance(0.01) {
            format!(",\"site\":\"{}\"", site_name(site).replace('.', "\\u002e"))
        } else {
            format!(",\"site\":\"{}\"", site_name(site))
        };
        let os_text = if self.w.chance(0.03) {
            String::new()
        } else {
            format!(",\"os\":\"{os}\"")
        };
        let extra = if self.w.chance(0.01) {
            self.truth.truth.unknown_fields += 1;
            ",\"ua\":\"Mozilla/5.0 (X11; Linux x86_64)\""
        } else {
            ""
        };
        let line = format!(
            "{{\"event_id\":\"{id}\",\"ts\":{ts_text},\"creative_id\":\"cr-{creative}\",\"campaign_id\":\"cmp-{campaign}\",\"user_id\":\"u-{user}\"{site_text},\"country\":\"{}\",\"device\":\"{}\"{os_text}{money}{extra}}}\n",
            COUNTRIES[country].0, DEVICES[device].0
        );
        self.truth.accepted(&Accepted {
            event_type: "impression",
            ts,
            user: Some(user),
            cost,
            ..Accepted::default()
        });
        // Events stay inside the generated days: the store's dedup window is 7 days of event
        // time, and a week of traffic that spilled past its end would age its first rows out.
        let end = (first_day + days as i64) * MICROS_PER_DAY;
        if self.w.chance(self.w.ctr(campaign)) {
            let click_ts =
                (ts + self.w.rng.random_range(1_000_000..120_000_000)).div_euclid(1000) * 1000;
            let click = CsvEvent {
                id: self.next_id("clk"),
                ts: click_ts,
                conversion: false,
                user,
                campaign,
                creative,
                impression: id.clone(),
                conversion_type: "",
                revenue: 0,
            };
            if self.w.chance(self.w.cvr(campaign)) {
                let conv_ts = (click_ts + self.w.rng.random_range(60_000_000..21_600_000_000))
                    .div_euclid(1000)
                    * 1000;
                let r: f64 = self.w.rng.random();
                let (conversion_type, revenue) = if r < 0.5 {
                    ("purchase", self.w.rng.random_range(100..=20_000) * 10_000)
                } else if r < 0.8 {
                    ("signup", 0)
                } else {
                    ("install", 0)
                };
                let conv = CsvEvent {
                    id: self.next_id("cnv"),
                    ts: conv_ts,
                    conversion: true,
                    conversion_type,
                    revenue,
                    ..click.clone()
                };
                if conv_ts < end {
                    self.push_csv(conv, first_day, days);
                }
            }
            if click_ts < end {
                self.push_csv(click, first_day, days);
            }
        }
        let info = ImpInfo {
            ts,
            user,
            campaign,
            site,
            country,
            device,
        };
        (line.into_bytes(), info)
    }

    fn push_csv(&mut self, e: CsvEvent, first_day: i64, days: usize) {
        let d = usize::try_from(e.ts.div_euclid(MICROS_PER_DAY) - first_day).unwrap_or(0);
        self.csv_days[d.min(days - 1)].push(e);
    }

    fn bid_request(&mut self, imp: &ImpInfo) -> Value {
        let id = self.next_id("bid");
        let ts_ms = imp.ts.div_euclid(1000);
        let bids = self.w.chance(0.85);
        let bid_micros: i64 = if self.w.chance(0.05) {
            self.w.rng.random_range(500_000..25_000_000)
        } else {
            self.w.rng.random_range(500..25_000) * 1000
        };
        let floor_cap = if bids { bid_micros } else { 5_000_000 };
        let floor = self.w.rng.random_range(10..=(floor_cap / 10_000).max(10)) * 10_000;
        let floor = floor.min(floor_cap / 10_000 * 10_000);
        let won = bids && self.w.chance(0.35);
        let clearing = if won {
            let lo = floor / 1000;
            let hi = (bid_micros / 1000).max(lo);
            self.w.rng.random_range(lo..=hi) * 1000
        } else {
            0
        };
        let n_imps = self.w.rng.random_range(1..=3);
        let mut imps = Vec::new();
        for k in 0..n_imps {
            let f = if k == 0 {
                floor
            } else {
                self.w.rng.random_range(10..500) * 10_000
            };
            imps.push(imp_value(&format!("{k}"), micros_f64(f)));
        }
        let r: f64 = self.w.rng.random();
        let (site, app) = if r < 0.7 {
            (Some(site_name(imp.site)), None)
        } else if r < 0.97 {
            (None, Some(bundle_name(imp.site)))
        } else {
            (None, None)
        };
        let device = if self.w.chance(0.08) {
            None
        } else {
            let types = DEVICES[imp.device].2;
            let t = if self.w.chance(0.03) {
                6
            } else {
                types[self.w.rng.random_range(0..types.len())]
            };
            let os = self.w.chance(0.9).then(|| self.w.os(imp.device));
            let geo = self.w.chance(0.95).then(|| COUNTRIES[imp.country].1);
            Some((t, os, geo))
        };
        let user = self.w.chance(0.85).then_some(imp.user);
        let v = bid_value(BidFields {
            id,
            ts_ms,
            imps,
            site,
            app,
            device,
            user,
            campaign: bids.then(|| format!("cmp-{}", imp.campaign)),
            bid_price: bids.then(|| micros_f64(bid_micros)),
            won,
            clearing: won.then(|| micros_f64(clearing)),
        });
        self.truth.accepted(&Accepted {
            event_type: "bid_request",
            ts: ts_ms * 1000,
            user,
            cost: if won { clearing / 1000 } else { 0 },
            bid_floor: floor,
            bid_price: if bids { bid_micros } else { 0 },
            clearing,
            won,
            ..Accepted::default()
        });
        v
    }

    fn write_csv_files(&mut self, out: &Path, first_day: i64) -> Result<()> {
        let days = self.csv_days.len();
        let mut carry: Vec<CsvEvent> = Vec::new();
        for day in 0..days {
            let comp = match day {
                2 => Compression::Gzip,
                5 => Compression::Zstd,
                _ => Compression::None,
            };
            let name = format!("events-{day}.csv{}", ext(comp));
            let path = out.join(&name);
            let mut sink = Sink::create(&path, comp)?;
            let mut cols: Vec<&str> = vec![
                "event_id",
                "ts",
                "event_type",
                "user_id",
                "campaign_id",
                "creative_id",
                "impression_id",
                "conversion_type",
                "revenue",
            ];
            let both = day % 2 == 0;
            if both {
                cols.push("revenue_micros");
            }
            let n = cols.len();
            cols.rotate_left(day % n);
            sink.write_all(cols.join(",").as_bytes())
                .io("write", &path)?;
            sink.write_all(b"\n").io("write", &path)?;
            let mut events = std::mem::take(&mut self.csv_days[day]);
            events.sort_by(|a, b| (a.ts, &a.id).cmp(&(b.ts, &b.id)));
            if day == 0 {
                for reason in CSV_BAD {
                    let row = self.bad_csv(reason, &cols, first_day);
                    sink.write_all(&row).io("write", &path)?;
                }
            }
            for e in carry.drain(..) {
                let row = self.csv_row(&e, &cols, both);
                sink.write_all(&row).io("write", &path)?;
            }
            let mut same = Vec::new();
            for e in &events {
                let row = self.csv_row(e, &cols, both);
                sink.write_all(&row).io("write", &path)?;
                self.truth.accepted(&Accepted {
                    event_type: if e.conversion { "conversion" } else { "click" },
                    ts: e.ts,
                    user: Some(e.user),
                    revenue: e.revenue,
                    ..Accepted::default()
                });
                if self.w.chance(DUP_RATE) {
                    self.truth.duplicate();
                    if day + 1 < days && self.w.chance(0.5) {
                        carry.push(e.clone());
                    } else {
                        same.push(e.clone());
                    }
                }
                if self.w.chance(BAD_RATE) {
                    let skip = (!both).then_some(RejectReason::ConflictingMoney);
                    let reason = self.next_bad(1, &CSV_BAD, skip);
                    let row = self.bad_csv(reason, &cols, first_day);
                    sink.write_all(&row).io("write", &path)?;
                }
            }
            for e in &same {
                let row = self.csv_row(e, &cols, both);
                sink.write_all(&row).io("write", &path)?;
            }
            sink.finish(&path)?;
            self.truth.truth.files.push(name);
        }
        Ok(())
    }

    fn csv_row(&mut self, e: &CsvEvent, cols: &[&str], both: bool) -> Vec<u8> {
        let r: f64 = self.w.rng.random();
        let ts = if r < 0.4 {
            (e.ts / 1000).to_string()
        } else if r < 0.8 {
            rfc3339(e.ts, 0, 3)
        } else {
            rfc3339(e.ts, -300, 6)
        };
        let micros_col = both && e.revenue > 0 && self.w.chance(0.5);
        let cell = |c: &str| -> String {
            match c {
                "event_id" => e.id.clone(),
                "ts" => ts.clone(),
                "event_type" => (if e.conversion { "conversion" } else { "click" }).to_owned(),
                "user_id" => format!("u-{}", e.user),
                "campaign_id" => format!("cmp-{}", e.campaign),
                "creative_id" => format!("cr-{}", e.creative),
                "impression_id" => e.impression.clone(),
                "conversion_type" => e.conversion_type.to_owned(),
                "revenue" if e.revenue > 0 && !micros_col => decimal(e.revenue, 2),
                "revenue_micros" if micros_col => e.revenue.to_string(),
                _ => String::new(),
            }
        };
        let mut line = cols.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
        line.push('\n');
        line.into_bytes()
    }
}
