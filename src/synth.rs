//! A deterministic generator of synthetic AdvertiseX events, straight into [`EventBatch`]es:
//! for the demo, the end-to-end tests and the benchmarks. Shapes follow the event table: random
//! UUID event ids, Zipf-skewed campaigns, a diurnal pattern, clicks following impressions,
//! conversions following clicks, one bid request per ~10 impressions.
//!
//! (The file generator for the three input formats, `adstore gen`, belongs to the ingest issue.)

use adstore_storage::{EventBatch, EventRef, EventType, schema::MICROS_PER_DAY};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const COUNTRIES: [&str; 20] = [
    "US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "AU", "ES", "IT", "MX", "NL", "SE", "PL", "KR",
    "ID", "TR", "AR", "ZA",
];
const DEVICES: [&str; 4] = ["mobile", "desktop", "tablet", "ctv"];
const OSES: [&str; 5] = ["android", "ios", "windows", "macos", "linux"];
const CONVERSIONS: [&str; 3] = ["signup", "purchase", "install"];

/// Parameters of the generated traffic.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// RNG seed: the same seed gives the same events.
    pub seed: u64,
    /// Number of campaigns (Zipf-skewed traffic).
    pub campaigns: usize,
    /// Creatives per campaign.
    pub creatives_per_campaign: usize,
    /// Distinct sites.
    pub sites: usize,
    /// Distinct users.
    pub users: u64,
    /// First day of traffic (days since epoch).
    pub first_day: i32,
    /// Days of traffic.
    pub days: i32,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 42,
            campaigns: 2_000,
            creatives_per_campaign: 25,
            sites: 5_000,
            users: 2_000_000,
            first_day: 20_414, // 2025-11-22
            days: 1,
        }
    }
}

/// An endless, deterministic stream of events.
#[derive(Debug)]
pub struct Synth {
    config: SynthConfig,
    rng: StdRng,
    campaign_cdf: Vec<f64>,
    serial: u64,
}

impl Synth {
    /// A generator for `config`.
    pub fn new(config: SynthConfig) -> Synth {
        let mut acc = 0.0;
        let campaign_cdf = (0..config.campaigns.max(1))
            .map(|i| {
                acc += 1.0 / (i as f64 + 1.0);
                acc
            })
            .collect();
        Synth {
            rng: StdRng::seed_from_u64(config.seed),
            config,
            campaign_cdf,
            serial: 0,
        }
    }

    fn campaign(&mut self) -> usize {
        let total = self.campaign_cdf.last().copied().unwrap_or(1.0);
        let x = self.rng.random::<f64>() * total;
        self.campaign_cdf
            .partition_point(|&c| c < x)
            .min(self.campaign_cdf.len() - 1)
    }

    fn ts(&mut self) -> i64 {
        // Diurnal: more traffic in the day (rejection sampling on a sine over the day).
        let day =
            i64::from(self.config.first_day + self.rng.random_range(0..self.config.days.max(1)));
        loop {
            let t: f64 = self.rng.random();
            let weight = 0.6 + 0.4 * (std::f64::consts::TAU * (t - 0.3)).sin();
            if self.rng.random::<f64>() < weight {
                return day * MICROS_PER_DAY + (t * MICROS_PER_DAY as f64) as i64;
            }
        }
    }

    fn uuid(&mut self) -> String {
        let a: u128 = self.rng.random();
        let h = format!("{a:032x}");
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// Appends `impressions` impressions and the clicks, conversions and bid requests that go
    /// with them to `batch`.
    pub fn fill(&mut self, batch: &mut EventBatch, impressions: usize) {
        for _ in 0..impressions {
            self.serial += 1;
            let c = self.campaign();
            let campaign = format!("cmp-{c}");
            let creative = format!(
                "cr-{c}-{}",
                self.rng
                    .random_range(0..self.config.creatives_per_campaign.max(1))
            );
            let user = format!("u-{}", self.rng.random_range(0..self.config.users.max(1)));
            let site = format!(
                "site-{}.example.com",
                self.rng.random_range(0..self.config.sites.max(1))
            );
            let country = COUNTRIES[self.rng.random_range(0..COUNTRIES.len())];
            let device = DEVICES[self.rng.random_range(0..DEVICES.len())];
            let os = OSES[self.rng.random_range(0..OSES.len())];
            let ts = self.ts();
            let imp_id = self.uuid();
            let mut e = EventRef::new(&imp_id, EventType::Impression, ts, &campaign);
            e.creative_id = &creative;
            e.user_id = &user;
            e.site = &site;
            e.country = country;
            e.device = device;
            e.os = os;
            e.cost_micros = self.rng.random_range(200..5_000);
            batch.push(&e);
            // CTR ~1.5 %, varying by campaign.
            let ctr = 0.005 + (c % 10) as f64 * 0.002;
            if self.rng.random::<f64>() < ctr {
                let click_id = self.uuid();
                let mut k = e;
                k.event_id = &click_id;
                k.event_type = EventType::Click;
                k.ts = ts + self.rng.random_range(1_000_000..60_000_000);
                k.impression_id = &imp_id;
                k.cost_micros = 0;
                batch.push(&k);
                if self.rng.random::<f64>() < 0.05 {
                    let conv_id = self.uuid();
                    let mut v = k;
                    v.event_id = &conv_id;
                    v.event_type = EventType::Conversion;
                    v.ts = k.ts + self.rng.random_range(1_000_000..3_600_000_000);
                    v.conversion_type = CONVERSIONS[self.rng.random_range(0..CONVERSIONS.len())];
                    v.revenue_micros = if v.conversion_type == "purchase" {
                        self.rng.random_range(1_000_000..200_000_000)
                    } else {
                        0
                    };
                    batch.push(&v);
                }
            }
            if self.serial.is_multiple_of(10) {
                let auction = self.uuid();
                let mut b = EventRef::new(&auction, EventType::BidRequest, ts, &campaign);
                b.user_id = &user;
                b.site = &site;
                b.country = country;
                b.device = device;
                b.os = os;
                b.bid_floor_micros = self.rng.random_range(100_000..2_000_000);
                b.bid_price_micros = b.bid_floor_micros + self.rng.random_range(0..1_000_000);
                b.won = self.rng.random::<f64>() < 0.3;
                if b.won {
                    b.clearing_price_micros = self
                        .rng
                        .random_range(b.bid_floor_micros..=b.bid_price_micros);
                    b.cost_micros = b.clearing_price_micros / 1000;
                }
                batch.push(&b);
            }
        }
    }

    /// A batch of `impressions` impressions plus what goes with them.
    pub fn batch(&mut self, impressions: usize) -> EventBatch {
        let mut b = EventBatch::with_capacity(impressions + impressions / 8);
        self.fill(&mut b, impressions);
        b
    }
}
