//! The generator's world: campaigns (Zipf-skewed), their creatives, CTR and conversion rates,
//! sites, countries, devices, users, the diurnal curve; and the text encodings the generator
//! writes (its own code, independent of the decoders it is meant to check).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// (alpha-2, alpha-3, weight) of the generated countries.
pub(crate) const COUNTRIES: [(&str, &str, u32); 20] = [
    ("US", "USA", 30),
    ("GB", "GBR", 8),
    ("DE", "DEU", 8),
    ("FR", "FRA", 6),
    ("IN", "IND", 8),
    ("BR", "BRA", 5),
    ("JP", "JPN", 5),
    ("CA", "CAN", 4),
    ("AU", "AUS", 3),
    ("ES", "ESP", 3),
    ("IT", "ITA", 3),
    ("MX", "MEX", 3),
    ("NL", "NLD", 2),
    ("SE", "SWE", 2),
    ("PL", "POL", 2),
    ("KR", "KOR", 2),
    ("ID", "IDN", 2),
    ("TR", "TUR", 2),
    ("AR", "ARG", 1),
    ("ZA", "ZAF", 1),
];

/// (device word, weight, OpenRTB devicetypes that mean it).
pub(crate) const DEVICES: [(&str, u32, &[i32]); 4] = [
    ("mobile", 55, &[4, 1]),
    ("desktop", 30, &[2]),
    ("tablet", 10, &[5]),
    ("ctv", 5, &[3, 7]),
];

const OSES: [&[&str]; 4] = [
    &["android", "ios"],
    &["windows", "macos", "linux"],
    &["ios", "android"],
    &["tvos", "android", "roku"],
];

/// Relative traffic per UTC hour: low at night, peaks late morning and evening.
const DIURNAL: [f64; 24] = [
    0.35, 0.25, 0.2, 0.18, 0.2, 0.3, 0.5, 0.75, 0.95, 1.05, 1.1, 1.15, 1.15, 1.1, 1.05, 1.05, 1.1,
    1.2, 1.35, 1.45, 1.4, 1.2, 0.9, 0.6,
];

/// Campaigns in the world.
pub(crate) const CAMPAIGNS: usize = 2_000;
/// Creatives per campaign (50,000 in all).
pub(crate) const CREATIVES_PER_CAMPAIGN: usize = 25;
/// Sites in the world.
pub(crate) const SITES: usize = 5_000;

pub(crate) struct World {
    pub(crate) rng: StdRng,
    campaign_cdf: Vec<f64>,
    site_cdf: Vec<f64>,
    country_cdf: Vec<f64>,
    device_cdf: Vec<f64>,
    hour_cdf: Vec<f64>,
    ctr: Vec<f64>,
    cvr: Vec<f64>,
    pub(crate) users: u64,
}

fn cdf(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    let mut v: Vec<f64> = weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect();
    for x in &mut v {
        *x /= acc;
    }
    v
}

impl World {
    pub(crate) fn new(seed: u64, impressions: u64) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        let ctr = (0..CAMPAIGNS)
            .map(|_| rng.random_range(0.01..0.02))
            .collect();
        let cvr = (0..CAMPAIGNS)
            .map(|_| rng.random_range(0.03..0.08))
            .collect();
        #[expect(clippy::cast_precision_loss, reason = "small indices")]
        let zipf = |n: usize, s: f64| cdf((0..n).map(move |k| 1.0 / ((k + 1) as f64).powf(s)));
        World {
            campaign_cdf: zipf(CAMPAIGNS, 1.05),
            site_cdf: zipf(SITES, 0.9),
            country_cdf: cdf(COUNTRIES.iter().map(|c| f64::from(c.2))),
            device_cdf: cdf(DEVICES.iter().map(|d| f64::from(d.1))),
            hour_cdf: cdf(DIURNAL.iter().copied()),
            ctr,
            cvr,
            users: (impressions / 2).clamp(1_000, 5_000_000),
            rng,
        }
    }

    fn pick(&mut self, which: fn(&World) -> &Vec<f64>) -> usize {
        let u: f64 = self.rng.random();
        let c = which(self);
        c.partition_point(|&x| x < u).min(c.len() - 1)
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    pub(crate) fn campaign(&mut self) -> usize {
        self.pick(|w| &w.campaign_cdf)
    }

    pub(crate) fn creative(&mut self, campaign: usize) -> usize {
        campaign * CREATIVES_PER_CAMPAIGN + self.rng.random_range(0..CREATIVES_PER_CAMPAIGN)
    }

    pub(crate) fn site(&mut self) -> usize {
        self.pick(|w| &w.site_cdf)
    }

    pub(crate) fn country(&mut self) -> usize {
        self.pick(|w| &w.country_cdf)
    }

    pub(crate) fn device(&mut self) -> usize {
        self.pick(|w| &w.device_cdf)
    }

    pub(crate) fn os(&mut self, device: usize) -> &'static str {
        let list = OSES[device];
        list[self.rng.random_range(0..list.len())]
    }

    pub(crate) fn user(&mut self) -> u64 {
        self.rng.random_range(0..self.users)
    }

    pub(crate) fn ctr(&self, campaign: usize) -> f64 {
        self.ctr[campaign]
    }

    pub(crate) fn cvr(&self, campaign: usize) -> f64 {
        self.cvr[campaign]
    }

    /// A µs offset into a day, following the diurnal curve.
    pub(crate) fn time_of_day(&mut self) -> i64 {
        let hour = i64::try_from(self.pick(|w| &w.hour_cdf)).unwrap_or(0);
        hour * 3_600_000_000 + self.rng.random_range(0..3_600_000_000)
    }
}

pub(crate) fn site_name(site: usize) -> String {
    const TLDS: [&str; 4] = ["com", "net", "org", "io"];
    format!("site{site}.example.{}", TLDS[site % TLDS.len()])
}

pub(crate) fn bundle_name(site: usize) -> String {
    format!("com.example.app{site}")
}

/// `YYYY-MM-DDTHH:MM:SS[.f]` then `Z` or `±HH:MM`: the UTC instant `ts` (µs) shown at
/// `offset_min` minutes east of UTC, with `frac` fraction digits (0, 3 or 6; `ts` must not
/// carry finer precision than shown).
pub(crate) fn rfc3339(ts: i64, offset_min: i64, frac: usize) -> String {
    let local = ts + offset_min * 60_000_000;
    let day = local.div_euclid(86_400_000_000);
    let in_day = local.rem_euclid(86_400_000_000);
    let (y, m, d) = adstore_storage::schema::civil_from_days(day);
    let secs = in_day / 1_000_000;
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    let micros = in_day % 1_000_000;
    match frac {
        3 => s.push_str(&format!(".{:03}", micros / 1000)),
        6 => s.push_str(&format!(".{micros:06}")),
        _ => {}
    }
    if offset_min == 0 {
        s.push('Z');
    } else {
        let sign = if offset_min < 0 { '-' } else { '+' };
        let a = offset_min.abs();
        s.push_str(&format!("{sign}{:02}:{:02}", a / 60, a % 60));
    }
    s
}

/// Micros as a decimal in currency units with at least `min_decimals` decimals (`2150` →
/// `0.00215`, `12500000` with 2 → `12.50`).
pub(crate) fn decimal(micros: i64, min_decimals: usize) -> String {
    let int = micros / 1_000_000;
    let frac = format!("{:06}", micros % 1_000_000);
    let trimmed = frac.trim_end_matches('0');
    let keep = trimmed.len().max(min_decimals);
    if keep == 0 {
        int.to_string()
    } else {
        format!("{int}.{}", &frac[..keep])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(
            rfc3339(1_763_769_600_123_000, 0, 3),
            "2025-11-22T00:00:00.123Z"
        );
        assert_eq!(
            rfc3339(1_763_769_600_123_000, 330, 6),
            "2025-11-22T05:30:00.123000+05:30"
        );
        assert_eq!(
            rfc3339(1_763_769_600_000_000, -480, 0),
            "2025-11-21T16:00:00-08:00"
        );
        assert_eq!(decimal(2150, 0), "0.00215");
        assert_eq!(decimal(12_500_000, 2), "12.50");
        assert_eq!(decimal(7_000_000, 0), "7");
        assert_eq!(decimal(1, 0), "0.000001");
    }
}
