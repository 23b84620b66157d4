//! One bid request, as read from an Avro datum: [`BidRequest`], its normalization into an
//! event, and the direct decoder used when a file's writer schema is exactly
//! `bid_request.avsc`.
//!
//! Why a direct decoder: apache-avro's generic path builds a `Value` tree per record (a
//! `String` per field name and value, a `Box` per union) and re-resolves names each time; that
//! is most of its cost. When the writer schema equals the reader schema (every file our agents
//! and `adstore gen` write), the layout of a datum is known, so its fields are read straight
//! from the block as borrowed `&str`s and numbers. Any other writer schema takes the generic
//! path with schema resolution. Both paths feed the same [`BidRequest::to_event`].

use adstore_storage::{EventRef, EventType};

use super::DecodeOptions;
use crate::normalize::{
    country_alpha2, cpm_to_impression_cost_micros, device_word, double_to_micros, required,
};
use crate::reject::{RejectReason, Rejection};

/// The fields of a bid request that the event table keeps (absent optional fields are `None`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BidRequest<'a> {
    /// `id`.
    pub id: &'a str,
    /// `ts` in µs (from timestamp-millis), `None` when it overflows.
    pub ts: Option<i64>,
    /// The first `imp`'s `bidfloor`, CPM.
    pub first_bid_floor: Option<f64>,
    /// `site.domain`, when there is a site.
    pub site_domain: Option<&'a str>,
    /// `app.bundle`, when there is an app.
    pub app_bundle: Option<&'a str>,
    /// `device.devicetype`.
    pub devicetype: Option<i64>,
    /// `device.os`.
    pub os: Option<&'a str>,
    /// `device.geo.country`, alpha-3.
    pub country: Option<&'a str>,
    /// `user.id`.
    pub user_id: Option<&'a str>,
    /// `campaign_id`.
    pub campaign_id: Option<&'a str>,
    /// `bid_price`, CPM.
    pub bid_price: Option<f64>,
    /// `won`.
    pub won: bool,
    /// `clearing_price`, CPM.
    pub clearing_price: Option<f64>,
}

impl<'a> BidRequest<'a> {
    /// Validates and normalizes (see the `avro` module doc for the rules).
    pub fn to_event(&self, options: &DecodeOptions) -> Result<EventRef<'a>, Rejection> {
        let id = required("id", Some(self.id))?;
        let ts = self
            .ts
            .ok_or_else(|| (RejectReason::BadTimestamp, "ts overflows".to_owned()))?;
        let ts = options.ts_range.check(ts)?;
        let money = |name: &str, v: Option<f64>| v.map_or(Ok(0), |d| double_to_micros(name, d));
        let bid_floor = money("imp[0].bidfloor", self.first_bid_floor)?;
        let bid_price = money("bid_price", self.bid_price)?;
        let clearing = money("clearing_price", self.clearing_price)?;
        let mut e = EventRef::new(
            id,
            EventType::BidRequest,
            ts,
            self.campaign_id.unwrap_or(""),
        );
        e.user_id = self.user_id.unwrap_or("");
        e.site = self.site_domain.or(self.app_bundle).unwrap_or("");
        e.country = self.country.map_or("", country_alpha2);
        e.device = device_word(self.devicetype);
        e.os = self.os.unwrap_or("");
        e.bid_floor_micros = bid_floor;
        e.bid_price_micros = bid_price;
        e.clearing_price_micros = clearing;
        e.won = self.won;
        e.cost_micros = if self.won {
            cpm_to_impression_cost_micros(clearing)
        } else {
            0
        };
        Ok(e)
    }
}

/// Reads Avro binary encodings from a slice.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn long(&mut self) -> Option<i64> {
        let mut value: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return None;
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                #[expect(clippy::cast_possible_wrap, reason = "zigzag decoding")]
                return Some((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        None
    }

    fn int(&mut self) -> Option<i64> {
        self.long().filter(|v| i32::try_from(*v).is_ok())
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.long()?).ok()?;
        let end = self.pos.checked_add(len)?;
        let b = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(b)
    }

    fn string(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    fn double(&mut self) -> Option<f64> {
        let b: [u8; 8] = self.buf.get(self.pos..self.pos + 8)?.try_into().ok()?;
        self.pos += 8;
        Some(f64::from_le_bytes(b))
    }

    fn boolean(&mut self) -> Option<bool> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        match b {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    /// A `["null", T]` union: `Some(false)` for null, `Some(true)` when `T` follows.
    fn optional(&mut self) -> Option<bool> {
        match self.long()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn opt_string(&mut self) -> Option<Option<&'a str>> {
        if self.optional()? {
            self.string().map(Some)
        } else {
            Some(None)
        }
    }
}

/// Decodes one datum written with exactly `bid_request.avsc`; `None` when the bytes are not
/// one. Returns the request and the bytes it took.
pub(crate) fn decode_direct(buf: &[u8]) -> Option<(BidRequest<'_>, usize)> {
    let mut r = Reader { buf, pos: 0 };
    let mut b = BidRequest {
        id: r.string()?,
        ts: r.long()?.checked_mul(1000),
        ..BidRequest::default()
    };
    // imp: array of Imp { id: string, tagid: [null, string], bidfloor: double, bidfloorcur: string }
    loop {
        let mut count = r.long()?;
        if count == 0 {
            break;
        }
        if count < 0 {
            count = count.checked_neg()?;
            r.long()?;
        }
        for _ in 0..count {
            r.bytes()?;
            r.opt_string()?;
            let floor = r.double()?;
            r.bytes()?;
            b.first_bid_floor.get_or_insert(floor);
        }
    }
    // site: [null, Site { domain: string, page: [null, string] }]
    if r.optional()? {
        b.site_domain = Some(r.string()?);
        r.opt_string()?;
    }
    // app: [null, App { bundle: string }]
    if r.optional()? {
        b.app_bundle = Some(r.string()?);
    }
    // device: [null, Device { devicetype: [null, int], os, ua: [null, string],
    //                          geo: [null, Geo { country, region: [null, string] }] }]
    if r.optional()? {
        if r.optional()? {
            b.devicetype = Some(r.int()?);
        }
        b.os = r.opt_string()?;
        r.opt_string()?;
        if r.optional()? {
            b.country = r.opt_string()?;
            r.opt_string()?;
        }
    }
    // user: [null, User { id: [null, string], buyeruid: [null, string] }]
    if r.optional()? {
        b.user_id = r.opt_string()?;
        r.opt_string()?;
    }
    b.campaign_id = r.opt_string()?;
    if r.optional()? {
        b.bid_price = Some(r.double()?);
    }
    b.won = r.boolean()?;
    if r.optional()? {
        b.clearing_price = Some(r.double()?);
    }
    Some((b, r.pos))
}
