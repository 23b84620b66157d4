//! Bloom filter tests: round trips, no false negatives, measured false-positive rates, and
//! corrupt input.

use proptest::prelude::*;

use super::builder::num_probes_for;
use super::*;

/// Key `i` of the set tagged `tag`: the sets of two tags never overlap.
fn key(tag: u8, i: u64) -> [u8; 9] {
    let mut key = [tag; 9];
    key[1..].copy_from_slice(&i.to_le_bytes());
    key
}

/// Serializes a plain filter holding keys `0..n` of tag `b'+'`.
fn build(n: u64, bits_per_key: f64) -> Vec<u8> {
    build_in(Layout::Plain, n, bits_per_key)
}

/// Serializes a filter in `layout` holding keys `0..n` of tag `b'+'`.
fn build_in(layout: Layout, n: u64, bits_per_key: f64) -> Vec<u8> {
    let mut builder = BloomBuilder::new(n as usize, bits_per_key);
    for i in 0..n {
        builder.insert(&key(b'+', i));
    }
    let mut bytes = Vec::new();
    builder.finish(layout, &mut bytes);
    bytes
}

/// Fraction of `probes` never-inserted keys the filter lets through.
fn measured_fpr(filter: &BloomFilter<'_>, probes: u64) -> f64 {
    let hits = (0..probes)
        .filter(|&i| filter.may_contain(&key(b'-', i)))
        .count();
    hits as f64 / probes as f64
}

/// The false-positive rate the module docs give for a blocked filter with 512-bit blocks,
/// `bits_per_key` bits per key and `k` probes: the classic formula per block, averaged over the
/// Poisson-distributed number of keys a block receives.
fn expected_fpr(bits_per_key: f64, k: u8) -> f64 {
    let block_bits = 512.0;
    let lambda = block_bits / bits_per_key;
    let k = f64::from(k);
    let last = (lambda + 12.0 * lambda.sqrt() + 30.0) as u64;
    let mut log_poisson = -lambda; // ln P(0 keys)
    let mut sum = 0.0;
    for i in 0..=last {
        if i > 0 {
            log_poisson += lambda.ln() - (i as f64).ln();
        }
        let fill = 1.0 - (1.0 - 1.0 / block_bits).powf(i as f64 * k);
        sum += log_poisson.exp() * fill.powf(k);
    }
    sum
}

#[test]
fn hash_key_is_xxh3_64_seed_0() {
    // Reference values of XXH3_64bits; a change here breaks every filter on disk.
    assert_eq!(hash_key(b""), 0x2D06_8005_38D3_94C2);
}

#[test]
fn round_trip() {
    let bytes = build(1000, 10.0);
    let filter = BloomFilter::from_bytes(&bytes, Layout::Plain).unwrap();
    assert_eq!(filter.serialized_len(), bytes.len());
    assert_eq!(filter.num_blocks(), 20);
    assert_eq!(filter.num_probes(), 6);
    for i in 0..1000 {
        assert!(filter.may_contain(&key(b'+', i)));
        assert!(filter.may_contain_hash(hash_key(&key(b'+', i))));
    }
    assert!(measured_fpr(&filter, 10_000) < 0.03);
}

#[test]
fn empty_filter_has_one_block_and_rejects_everything() {
    let bytes = build(0, 10.0);
    assert_eq!(bytes.len(), HEADER_LEN + BLOCK_LEN);
    let filter = BloomFilter::from_bytes(&bytes, Layout::Plain).unwrap();
    assert_eq!(measured_fpr(&filter, 1000), 0.0);
}

#[test]
fn finish_appends_and_reader_ignores_what_follows() {
    let mut builder = BloomBuilder::new(100, 10.0);
    builder.insert(b"user-42");
    let mut out = b"prefix".to_vec();
    builder.finish(Layout::Plain, &mut out);
    let end = out.len();
    out.extend_from_slice(b"the rest of the footer");

    let filter = BloomFilter::from_bytes(&out[6..], Layout::Plain).unwrap();
    assert_eq!(
        filter.serialized_len(),
        builder.serialized_len(Layout::Plain)
    );
    assert_eq!(6 + filter.serialized_len(), end);
    assert!(filter.may_contain(b"user-42"));
}

/// Pins the format: these bytes must never change within a format version. The expected
/// values come from an independent implementation (Python, with the `xxhash` package).
#[test]
fn format_fixture() {
    let mut builder = BloomBuilder::new(3, 10.0);
    for key in [b"event-1", b"event-2", b"event-3"] {
        builder.insert(key);
    }
    let mut bytes = Vec::new();
    builder.finish(Layout::Plain, &mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let expected = concat!(
        "01000000", // NumBlocks = 1
        "06",       // NumProbes = 6
        "000000",   // Reserved
        "0000001000000000080200001000004000000000100090800000000020040000",
        "0000000000008002000000000000000000004000002800080000000000000000",
    );
    assert_eq!(hex, expected);

    // Four blocks: the keys spread over blocks 0, 1 and 2 by the fast range reduction.
    let mut builder = BloomBuilder::new(200, 10.0);
    for key in [b"user-1", b"user-2", b"user-3"] {
        builder.insert(key);
    }
    let mut bytes = Vec::new();
    builder.finish(Layout::Plain, &mut bytes);
    assert_eq!(bytes[..HEADER_LEN], [4, 0, 0, 0, 6, 0, 0, 0]);
    let body = &bytes[HEADER_LEN..];
    let set_bits: Vec<usize> = (0..body.len() * 8)
        .filter(|&bit| body[bit / 8] & (1 << (bit % 8)) != 0)
        .collect();
    let expected = [
        25, 94, 144, 183, 188, 439, 552, 581, 757, 768, 905, 987, 1026, 1069, 1117, 1303, 1481,
        1510,
    ];
    assert_eq!(set_bits, expected);
}

/// A checked filter is the plain one followed by one CRC32 per block, of the header's bytes
/// and then the block's: computed here straight from the bytes, as FORMAT.md states it.
#[test]
fn a_checked_filter_is_the_plain_one_and_a_crc_per_block() {
    let plain = build_in(Layout::Plain, 1_000, 10.0);
    let checked = build_in(Layout::Checked, 1_000, 10.0);
    let blocks = 20;
    assert_eq!(
        checked.len(),
        HEADER_LEN + blocks * (BLOCK_LEN + BLOCK_CRC_LEN)
    );
    assert_eq!(checked[..plain.len()], plain[..]);
    for b in 0..blocks {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&plain[..HEADER_LEN]);
        hasher.update(&plain[HEADER_LEN + b * BLOCK_LEN..][..BLOCK_LEN]);
        let at = plain.len() + b * BLOCK_CRC_LEN;
        assert_eq!(
            checked[at..at + 4],
            hasher.finalize().to_le_bytes(),
            "block {b}"
        );
    }
    let filter = BloomFilter::from_bytes(&checked, Layout::Checked).unwrap();
    assert_eq!(filter.layout(), Layout::Checked);
    assert_eq!(filter.serialized_len(), checked.len());
    filter.verify().unwrap();
    for i in 0..1000 {
        assert!(filter.check(&key(b'+', i)).unwrap());
    }
    let plain_filter = BloomFilter::from_bytes(&plain, Layout::Plain).unwrap();
    for i in 0..5000 {
        let absent = key(b'-', i);
        assert_eq!(
            filter.check(&absent).unwrap(),
            plain_filter.may_contain(&absent)
        );
    }
    // The CRCs are part of the filter's length.
    assert!(matches!(
        BloomFilter::from_bytes(&checked[..checked.len() - 1], Layout::Checked),
        Err(BloomError::Truncated { .. })
    ));
}

/// Every byte of a checked filter matters: a flipped bit in a block or in its CRC fails the
/// look-ups that read that block (and only those) and `verify`; one in the probe count fails
/// every block.
#[test]
fn a_damaged_checked_filter_fails_the_look_ups_that_read_the_damage() {
    let good = build_in(Layout::Checked, 1_000, 10.0);
    let blocks = 20;
    let crcs_at = HEADER_LEN + blocks * BLOCK_LEN;
    let damaged_block = 7;
    for at in [
        HEADER_LEN + damaged_block * BLOCK_LEN,
        HEADER_LEN + damaged_block * BLOCK_LEN + 63,
        crcs_at + damaged_block * BLOCK_CRC_LEN + 2,
    ] {
        let mut bytes = good.clone();
        bytes[at] ^= 0x10;
        let filter = BloomFilter::from_bytes(&bytes, Layout::Checked).unwrap();
        assert!(
            matches!(filter.verify(), Err(BloomError::BlockChecksum { block, .. }) if block == damaged_block),
            "byte {at}"
        );
        let (mut failed, mut answered) = (0, 0);
        for i in 0..1000 {
            let h = hash_key(&key(b'+', i));
            let block = super::format::block_index(h, blocks as u32);
            match filter.check_hash(h) {
                Err(BloomError::BlockChecksum { block: b, .. }) => {
                    assert_eq!((b, block), (damaged_block, damaged_block));
                    failed += 1;
                }
                Ok(maybe) => {
                    assert!(maybe && block != damaged_block, "key {i}, byte {at}");
                    answered += 1;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(failed > 0 && answered > 0, "{failed} {answered}");
    }
    // NumProbes 6 -> 5: a valid header, but every block's CRC covers it.
    let mut bytes = good.clone();
    bytes[4] = 5;
    let filter = BloomFilter::from_bytes(&bytes, Layout::Checked).unwrap();
    for i in 0..100 {
        assert!(matches!(
            filter.check(&key(b'+', i)),
            Err(BloomError::BlockChecksum { .. })
        ));
    }
}

#[test]
fn truncated_input_is_an_error() {
    let bytes = build(100, 10.0);
    for len in 0..bytes.len() {
        let err = BloomFilter::from_bytes(&bytes[..len], Layout::Plain).unwrap_err();
        let needed = if len < HEADER_LEN {
            HEADER_LEN
        } else {
            bytes.len()
        };
        assert!(
            matches!(err, BloomError::Truncated { needed: n, available } if n == needed && available == len),
            "len {len}: {err:?}"
        );
    }
}

#[test]
fn invalid_headers_are_errors() {
    let good = build(10, 10.0);
    // Overwrites `good` at `offset` and parses it, keeping only the outcome.
    let corrupt = |offset: usize, patch: &[u8]| {
        let mut bytes = good.clone();
        bytes[offset..offset + patch.len()].copy_from_slice(patch);
        BloomFilter::from_bytes(&bytes, Layout::Plain).map(|_| ())
    };
    let zero_blocks = corrupt(0, &0u32.to_le_bytes());
    let zero_probes = corrupt(4, &[0]);
    let too_many_probes = corrupt(4, &[MAX_PROBES + 1]);
    let max_probes = corrupt(4, &[255]);
    for result in [zero_blocks, zero_probes, too_many_probes, max_probes] {
        assert!(
            matches!(result, Err(BloomError::InvalidHeader(_))),
            "{result:?}"
        );
    }
    for reserved in 5..8 {
        let result = corrupt(reserved, &[1]);
        assert!(
            matches!(result, Err(BloomError::InvalidHeader(_))),
            "{result:?}"
        );
    }
    assert!(corrupt(4, &[MAX_PROBES]).is_ok());
}

#[test]
fn a_kept_shape_reads_the_filter_as_its_header_does() {
    let bytes = build(1_000, 10.0);
    let shape = BloomFilter::shape(&bytes, Layout::Plain).unwrap();
    let kept = BloomFilter::with_shape(&bytes, shape).unwrap();
    let read = BloomFilter::from_bytes(&bytes, Layout::Plain).unwrap();
    assert_eq!(
        (kept.num_blocks(), kept.num_probes()),
        (read.num_blocks(), read.num_probes())
    );
    for i in 0..5_000 {
        let h = hash_key(&key(if i % 2 == 0 { 1 } else { 9 }, i));
        assert_eq!(kept.may_contain_hash(h), read.may_contain_hash(h), "{i}");
    }
    // The shape's checks are from_bytes's; with a shape, only the length is checked again.
    assert!(matches!(
        BloomFilter::shape(&bytes[..bytes.len() - 1], Layout::Plain),
        Err(BloomError::Truncated { .. })
    ));
    let mut bad = bytes.clone();
    bad[4] = 0;
    assert!(matches!(
        BloomFilter::shape(&bad, Layout::Plain),
        Err(BloomError::InvalidHeader(_))
    ));
    assert!(matches!(
        BloomFilter::with_shape(&bytes[..bytes.len() - 1], shape),
        Err(BloomError::Truncated { .. })
    ));
}

#[test]
fn huge_block_count_is_truncated_not_allocated() {
    let mut bytes = vec![0; HEADER_LEN + BLOCK_LEN];
    bytes[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes[4] = 1;
    let result = BloomFilter::from_bytes(&bytes, Layout::Plain);
    assert!(
        matches!(result, Err(BloomError::Truncated { .. })),
        "{result:?}"
    );
}

#[test]
fn fpr_at_10_bits_per_key_on_100k_keys() {
    let bytes = build(100_000, 10.0);
    let filter = BloomFilter::from_bytes(&bytes, Layout::Plain).unwrap();
    let fpr = measured_fpr(&filter, 200_000);
    assert!(fpr < 0.02, "{fpr}");
    assert!(fpr > 0.002, "suspiciously low: {fpr}");
}

#[test]
fn tiny_bits_per_key_still_works_with_a_high_fpr() {
    for bits_per_key in [0.5, 1.0] {
        let bytes = build(10_000, bits_per_key);
        let filter = BloomFilter::from_bytes(&bytes, Layout::Plain).unwrap();
        for i in 0..10_000 {
            assert!(filter.may_contain(&key(b'+', i)));
        }
        let fpr = measured_fpr(&filter, 20_000);
        assert!(fpr > 0.4 && fpr < 0.95, "{bits_per_key} bits/key: {fpr}");
    }
}

/// The sizing table in the module docs: `(bits per key, probes, measured FPR)` for 100,000
/// keys and 1,000,000 absent probes. The measurement is deterministic (fixed keys, fixed hash).
const DOCUMENTED_FPR: [(f64, u8, f64); 11] = [
    (0.5, 1, 8.65e-1),
    (1.0, 1, 6.31e-1),
    (2.0, 1, 3.94e-1),
    (4.0, 3, 1.48e-1),
    (6.0, 4, 5.77e-2),
    (8.0, 5, 2.32e-2),
    (10.0, 6, 9.76e-3),
    (12.0, 8, 4.30e-3),
    (14.0, 9, 1.79e-3),
    (16.0, 10, 8.52e-4),
    (20.0, 12, 2.25e-4),
];

#[test]
fn documented_fpr_table_holds() {
    for (bits_per_key, k, documented) in DOCUMENTED_FPR {
        let bytes = build(100_000, bits_per_key);
        let filter = BloomFilter::from_bytes(&bytes, Layout::Plain).unwrap();
        let measured = measured_fpr(&filter, 1_000_000);
        let formula = expected_fpr(bits_per_key, k);
        println!("| {bits_per_key:>4} | {k:>2} | {formula:.2e} | {measured:.2e} |");
        assert_eq!(filter.num_probes(), k);
        assert!(
            (measured - documented).abs() <= 0.05 * documented,
            "{measured} vs {documented}"
        );
        // The formula lets a query's probes repeat a bit only as often as inserts do, so the
        // measured rate runs a few percent high at large k; allow that and sampling noise.
        assert!(
            (measured - formula).abs() <= 0.12 * formula + 3.0 * (formula / 1e6).sqrt(),
            "{bits_per_key} bits/key: measured {measured}, formula {formula}"
        );
    }
}

#[test]
fn probe_count_is_near_optimal() {
    for quarter_bits in 2..=128 {
        let b = f64::from(quarter_bits) / 4.0;
        let best = (1..=MAX_PROBES)
            .map(|k| expected_fpr(b, k))
            .fold(f64::INFINITY, f64::min);
        let chosen = expected_fpr(b, num_probes_for(b));
        let bound = if b <= 16.0 { 1.02 } else { 1.08 };
        assert!(
            chosen <= bound * best,
            "{b} bits/key: {chosen} vs best {best}"
        );
    }
}

proptest! {
    #[test]
    fn no_false_negatives(
        keys in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..32), 0..600),
        bits_per_key in 0.1f64..24.0,
        undersize in 1usize..8,
    ) {
        let mut builder = BloomBuilder::new(keys.len() / undersize, bits_per_key);
        for key in &keys {
            builder.insert(key);
        }
        let mut bytes = Vec::new();
        builder.finish(Layout::Plain, &mut bytes);
        let filter = BloomFilter::from_bytes(&bytes, Layout::Plain).unwrap();
        prop_assert_eq!(filter.serialized_len(), bytes.len());
        for key in &keys {
            prop_assert!(filter.may_contain(key));
        }
    }

    #[test]
    fn no_false_negatives_for_raw_hashes(
        hashes in prop::collection::vec(any::<u64>(), 0..2000),
        blocks in 1usize..64,
    ) {
        let mut builder = BloomBuilder::new(blocks * 51, 10.0);
        for &hash in &hashes {
            builder.insert_hash(hash);
        }
        let mut bytes = Vec::new();
        builder.finish(Layout::Plain, &mut bytes);
        let filter = BloomFilter::from_bytes(&bytes, Layout::Plain).unwrap();
        for &hash in &hashes {
            prop_assert!(filter.may_contain_hash(hash));
        }
    }

    /// Whatever bytes of a checked filter are damaged, a look-up of an inserted key answers
    /// "maybe" or fails: never a wrong "absent".
    #[test]
    fn damage_to_a_checked_filter_never_gives_a_false_negative(
        n in 1u64..400,
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
    ) {
        let mut bytes = build_in(Layout::Checked, n, 10.0);
        for (at, bit) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        if let Ok(filter) = BloomFilter::from_bytes(&bytes, Layout::Checked) {
            for i in 0..n {
                prop_assert!(!matches!(filter.check(&key(b'+', i)), Ok(false)), "key {i}");
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), hash: u64) {
        if let Ok(filter) = BloomFilter::from_bytes(&bytes, Layout::Plain) {
            prop_assert!(filter.serialized_len() <= bytes.len());
            let _ = filter.may_contain_hash(hash);
            let _ = filter.may_contain(&bytes);
        }
    }

    #[test]
    fn from_bytes_accepts_exactly_the_valid_headers(
        num_blocks in 0u32..12,
        num_probes: u8,
        reserved: [u8; 3],
        body_len in 0usize..800,
        hash: u64,
    ) {
        let mut bytes = num_blocks.to_le_bytes().to_vec();
        bytes.push(num_probes);
        bytes.extend_from_slice(&reserved);
        bytes.resize(HEADER_LEN + body_len, 0xFF);
        let needed = HEADER_LEN + num_blocks as usize * BLOCK_LEN;
        let valid_header = num_blocks > 0 && (1..=MAX_PROBES).contains(&num_probes) && reserved == [0; 3];
        match BloomFilter::from_bytes(&bytes, Layout::Plain) {
            Ok(filter) => {
                prop_assert!(valid_header && bytes.len() >= needed);
                prop_assert_eq!(filter.serialized_len(), needed);
                // Every bit is set, so everything may be present.
                prop_assert!(filter.may_contain_hash(hash));
            }
            Err(BloomError::InvalidHeader(_)) => prop_assert!(!valid_header),
            Err(BloomError::Truncated { needed: n, available }) => {
                prop_assert!(valid_header);
                prop_assert_eq!((n, available), (needed, bytes.len()));
            }
            Err(e) => prop_assert!(false, "a plain filter has no CRCs to fail: {e}"),
        }
    }
}
