//! Avro values and container headers for the generated bid requests.

use apache_avro::Codec;
use apache_avro::types::Value;

/// An Avro object container header: magic, metadata (`avro.schema`, `avro.codec`), sync marker.
pub(super) fn avro_header(codec: &Codec, marker: [u8; 16]) -> Vec<u8> {
    fn long(out: &mut Vec<u8>, v: i64) {
        #[expect(clippy::cast_sign_loss, reason = "zigzag encoding")]
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            out.push((z as u8) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    }
    fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        long(out, i64::try_from(b.len()).unwrap_or(0));
        out.extend_from_slice(b);
    }
    let codec_name = match codec {
        Codec::Null => "null",
        Codec::Deflate(_) => "deflate",
        Codec::Snappy => "snappy",
        _ => "zstandard",
    };
    let mut h = b"Obj\x01".to_vec();
    long(&mut h, 2);
    bytes(&mut h, b"avro.schema");
    bytes(&mut h, crate::decode::BID_REQUEST_AVSC.as_bytes());
    bytes(&mut h, b"avro.codec");
    bytes(&mut h, codec_name.as_bytes());
    long(&mut h, 0);
    h.extend_from_slice(&marker);
    h
}

pub(super) fn micros_f64(micros: i64) -> f64 {
    #[expect(
        clippy::cast_precision_loss,
        reason = "prices are far below 2^53 micros"
    )]
    let v = micros as f64 / 1e6;
    v
}

pub(super) fn imp_value(id: &str, floor: f64) -> Value {
    Value::Record(vec![
        ("id".into(), Value::String(id.into())),
        ("tagid".into(), Value::Union(0, Box::new(Value::Null))),
        ("bidfloor".into(), Value::Double(floor)),
        ("bidfloorcur".into(), Value::String("USD".into())),
    ])
}

pub(super) struct BidFields {
    pub(super) id: String,
    pub(super) ts_ms: i64,
    pub(super) imps: Vec<Value>,
    pub(super) site: Option<String>,
    pub(super) app: Option<String>,
    pub(super) device: Option<(i32, Option<&'static str>, Option<&'static str>)>,
    pub(super) user: Option<u64>,
    pub(super) campaign: Option<String>,
    pub(super) bid_price: Option<f64>,
    pub(super) won: bool,
    pub(super) clearing: Option<f64>,
}

pub(super) fn opt(v: Option<Value>) -> Value {
    match v {
        Some(v) => Value::Union(1, Box::new(v)),
        None => Value::Union(0, Box::new(Value::Null)),
    }
}

pub(super) fn bid_value(f: BidFields) -> Value {
    let s = |x: &str| Value::String(x.to_owned());
    let device = f.device.map(|(t, os, geo)| {
        Value::Record(vec![
            ("devicetype".into(), opt(Some(Value::Int(t)))),
            ("os".into(), opt(os.map(s))),
            ("ua".into(), opt(None)),
            (
                "geo".into(),
                opt(geo.map(|c| {
                    Value::Record(vec![
                        ("country".into(), opt(Some(s(c)))),
                        ("region".into(), opt(None)),
                    ])
                })),
            ),
        ])
    });
    Value::Record(vec![
        ("id".into(), Value::String(f.id)),
        ("ts".into(), Value::TimestampMillis(f.ts_ms)),
        ("imp".into(), Value::Array(f.imps)),
        (
            "site".into(),
            opt(f.site.map(|d| {
                Value::Record(vec![
                    ("domain".into(), Value::String(d)),
                    ("page".into(), opt(None)),
                ])
            })),
        ),
        (
            "app".into(),
            opt(f
                .app
                .map(|b| Value::Record(vec![("bundle".into(), Value::String(b))]))),
        ),
        ("device".into(), opt(device)),
        (
            "user".into(),
            opt(f.user.map(|u| {
                Value::Record(vec![
                    ("id".into(), opt(Some(Value::String(format!("u-{u}"))))),
                    ("buyeruid".into(), opt(None)),
                ])
            })),
        ),
        ("campaign_id".into(), opt(f.campaign.map(Value::String))),
        ("bid_price".into(), opt(f.bid_price.map(Value::Double))),
        ("won".into(), Value::Boolean(f.won)),
        ("clearing_price".into(), opt(f.clearing.map(Value::Double))),
    ])
}
