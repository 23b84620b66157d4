//! Countries: ISO 3166-1 alpha-3 (what OpenRTB sends) to alpha-2 (what the event table stores).
//!
//! The table is ISO 3166-1 as of 2024 (249 codes), generated once from the `pycountry`
//! package's copy of the standard and sorted by alpha-3 for a binary search.
//! An input of 3 letters is looked up in any case; an input of 2 letters that is an alpha-2
//! code is kept (some exchanges send alpha-2 already); anything else, or an unknown code,
//! becomes '' (unknown country), never a reject: the contract lists no reason for it.

/// (alpha-3, alpha-2), sorted by alpha-3.
const ALPHA3_TO_ALPHA2: [(&[u8; 3], &str); 249] = [
    (b"ABW", "AW"),
    (b"AFG", "AF"),
    (b"AGO", "AO"),
    (b"AIA", "AI"),
    (b"ALA", "AX"),
    (b"ALB", "AL"),
    (b"AND", "AD"),
    (b"ARE", "AE"),
    (b"ARG", "AR"),
    (b"ARM", "AM"),
    (b"ASM", "AS"),
    (b"ATA", "AQ"),
    (b"ATF", "TF"),
    (b"ATG", "AG"),
    (b"AUS", "AU"),
    (b"AUT", "AT"),
    (b"AZE", "AZ"),
    (b"BDI", "BI"),
    (b"BEL", "BE"),
    (b"BEN", "BJ"),
    (b"BES", "BQ"),
    (b"BFA", "BF"),
    (b"BGD", "BD"),
    (b"BGR", "BG"),
    (b"BHR", "BH"),
    (b"BHS", "BS"),
    (b"BIH", "BA"),
    (b"BLM", "BL"),
    (b"BLR", "BY"),
    (b"BLZ", "BZ"),
    (b"BMU", "BM"),
    (b"BOL", "BO"),
    (b"BRA", "BR"),
    (b"BRB", "BB"),
    (b"BRN", "BN"),
    (b"BTN", "BT"),
    (b"BVT", "BV"),
    (b"BWA", "BW"),
    (b"CAF", "CF"),
    (b"CAN", "CA"),
    (b"CCK", "CC"),
    (b"CHE", "CH"),
    (b"CHL", "CL"),
    (b"CHN", "CN"),
    (b"CIV", "CI"),
    (b"CMR", "CM"),
    (b"COD", "CD"),
    (b"COG", "CG"),
    (b"COK", "CK"),
    (b"COL", "CO"),
    (b"COM", "KM"),
    (b"CPV", "CV"),
    (b"CRI", "CR"),
    (b"CUB", "CU"),
    (b"CUW", "CW"),
    (b"CXR", "CX"),
    (b"CYM", "KY"),
    (b"CYP", "CY"),
    (b"CZE", "CZ"),
    (b"DEU", "DE"),
    (b"DJI", "DJ"),
    (b"DMA", "DM"),
    (b"DNK", "DK"),
    (b"DOM", "DO"),
    (b"DZA", "DZ"),
    (b"ECU", "EC"),
    (b"EGY", "EG"),
    (b"ERI", "ER"),
    (b"ESH", "EH"),
    (b"ESP", "ES"),
    (b"EST", "EE"),
    (b"ETH", "ET"),
    (b"FIN", "FI"),
    (b"FJI", "FJ"),
    (b"FLK", "FK"),
    (b"FRA", "FR"),
    (b"FRO", "FO"),
    (b"FSM", "FM"),
    (b"GAB", "GA"),
    (b"GBR", "GB"),
    (b"GEO", "GE"),
    (b"GGY", "GG"),
    (b"GHA", "GH"),
    (b"GIB", "GI"),
    (b"GIN", "GN"),
    (b"GLP", "GP"),
    (b"GMB", "GM"),
    (b"GNB", "GW"),
    (b"GNQ", "GQ"),
    (b"GRC", "GR"),
    (b"GRD", "GD"),
    (b"GRL", "GL"),
    (b"GTM", "GT"),
    (b"GUF", "GF"),
    (b"GUM", "GU"),
    (b"GUY", "GY"),
    (b"HKG", "HK"),
    (b"HMD", "HM"),
    (b"HND", "HN"),
    (b"HRV", "HR"),
    (b"HTI", "HT"),
    (b"HUN", "HU"),
    (b"IDN", "ID"),
    (b"IMN", "IM"),
    (b"IND", "IN"),
    (b"IOT", "IO"),
    (b"IRL", "IE"),
    (b"IRN", "IR"),
    (b"IRQ", "IQ"),
    (b"ISL", "IS"),
    (b"ISR", "IL"),
    (b"ITA", "IT"),
    (b"JAM", "JM"),
    (b"JEY", "JE"),
    (b"JOR", "JO"),
    (b"JPN", "JP"),
    (b"KAZ", "KZ"),
    (b"KEN", "KE"),
    (b"KGZ", "KG"),
    (b"KHM", "KH"),
    (b"KIR", "KI"),
    (b"KNA", "KN"),
    (b"KOR", "KR"),
    (b"KWT", "KW"),
    (b"LAO", "LA"),
    (b"LBN", "LB"),
    (b"LBR", "LR"),
    (b"LBY", "LY"),
    (b"LCA", "LC"),
    (b"LIE", "LI"),
    (b"LKA", "LK"),
    (b"LSO", "LS"),
    (b"LTU", "LT"),
    (b"LUX", "LU"),
    (b"LVA", "LV"),
    (b"MAC", "MO"),
    (b"MAF", "MF"),
    (b"MAR", "MA"),
    (b"MCO", "MC"),
    (b"MDA", "MD"),
    (b"MDG", "MG"),
    (b"MDV", "MV"),
    (b"MEX", "MX"),
    (b"MHL", "MH"),
    (b"MKD", "MK"),
    (b"MLI", "ML"),
    (b"MLT", "MT"),
    (b"MMR", "MM"),
    (b"MNE", "ME"),
    (b"MNG", "MN"),
    (b"MNP", "MP"),
    (b"MOZ", "MZ"),
    (b"MRT", "MR"),
    (b"MSR", "MS"),
    (b"MTQ", "MQ"),
    (b"MUS", "MU"),
    (b"MWI", "MW"),
    (b"MYS", "MY"),
    (b"MYT", "YT"),
    (b"NAM", "NA"),
    (b"NCL", "NC"),
    (b"NER", "NE"),
    (b"NFK", "NF"),
    (b"NGA", "NG"),
    (b"NIC", "NI"),
    (b"NIU", "NU"),
    (b"NLD", "NL"),
    (b"NOR", "NO"),
    (b"NPL", "NP"),
    (b"NRU", "NR"),
    (b"NZL", "NZ"),
    (b"OMN", "OM"),
    (b"PAK", "PK"),
    (b"PAN", "PA"),
    (b"PCN", "PN"),
    (b"PER", "PE"),
    (b"PHL", "PH"),
    (b"PLW", "PW"),
    (b"PNG", "PG"),
    (b"POL", "PL"),
    (b"PRI", "PR"),
    (b"PRK", "KP"),
    (b"PRT", "PT"),
    (b"PRY", "PY"),
    (b"PSE", "PS"),
    (b"PYF", "PF"),
    (b"QAT", "QA"),
    (b"REU", "RE"),
    (b"ROU", "RO"),
    (b"RUS", "RU"),
    (b"RWA", "RW"),
    (b"SAU", "SA"),
    (b"SDN", "SD"),
    (b"SEN", "SN"),
    (b"SGP", "SG"),
    (b"SGS", "GS"),
    (b"SHN", "SH"),
    (b"SJM", "SJ"),
    (b"SLB", "SB"),
    (b"SLE", "SL"),
    (b"SLV", "SV"),
    (b"SMR", "SM"),
    (b"SOM", "SO"),
    (b"SPM", "PM"),
    (b"SRB", "RS"),
    (b"SSD", "SS"),
    (b"STP", "ST"),
    (b"SUR", "SR"),
    (b"SVK", "SK"),
    (b"SVN", "SI"),
    (b"SWE", "SE"),
    (b"SWZ", "SZ"),
    (b"SXM", "SX"),
    (b"SYC", "SC"),
    (b"SYR", "SY"),
    (b"TCA", "TC"),
    (b"TCD", "TD"),
    (b"TGO", "TG"),
    (b"THA", "TH"),
    (b"TJK", "TJ"),
    (b"TKL", "TK"),
    (b"TKM", "TM"),
    (b"TLS", "TL"),
    (b"TON", "TO"),
    (b"TTO", "TT"),
    (b"TUN", "TN"),
    (b"TUR", "TR"),
    (b"TUV", "TV"),
    (b"TWN", "TW"),
    (b"TZA", "TZ"),
    (b"UGA", "UG"),
    (b"UKR", "UA"),
    (b"UMI", "UM"),
    (b"URY", "UY"),
    (b"USA", "US"),
    (b"UZB", "UZ"),
    (b"VAT", "VA"),
    (b"VCT", "VC"),
    (b"VEN", "VE"),
    (b"VGB", "VG"),
    (b"VIR", "VI"),
    (b"VNM", "VN"),
    (b"VUT", "VU"),
    (b"WLF", "WF"),
    (b"WSM", "WS"),
    (b"YEM", "YE"),
    (b"ZAF", "ZA"),
    (b"ZMB", "ZM"),
    (b"ZWE", "ZW"),
];

/// The known alpha-2 codes, indexed by `(first - 'A') * 26 + (second - 'A')`: one load per
/// JSON impression rather than a scan of the table.
static ALPHA2: std::sync::LazyLock<[Option<&'static str>; 26 * 26]> =
    std::sync::LazyLock::new(|| {
        let mut t: [Option<&'static str>; 26 * 26] = [None; 26 * 26];
        for (_, a2) in ALPHA3_TO_ALPHA2 {
            let b = a2.as_bytes();
            if let (Some(x), Some(y)) = (letter_index(b[0]), letter_index(b[1])) {
                t[x * 26 + y] = Some(a2);
            }
        }
        t
    });

fn letter_index(b: u8) -> Option<usize> {
    b.is_ascii_alphabetic()
        .then(|| usize::from(b.to_ascii_uppercase() - b'A'))
}

/// The alpha-2 code of a country given as alpha-3 (or alpha-2); '' when unknown.
pub fn country_alpha2(code: &str) -> &'static str {
    let b = code.trim().as_bytes();
    match b.len() {
        3 => {
            let key = [
                b[0].to_ascii_uppercase(),
                b[1].to_ascii_uppercase(),
                b[2].to_ascii_uppercase(),
            ];
            ALPHA3_TO_ALPHA2
                .binary_search_by(|(a3, _)| a3.as_slice().cmp(key.as_slice()))
                .map_or("", |i| ALPHA3_TO_ALPHA2[i].1)
        }
        2 => match (letter_index(b[0]), letter_index(b[1])) {
            (Some(x), Some(y)) => ALPHA2[x * 26 + y].unwrap_or(""),
            _ => "",
        },
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_complete() {
        assert!(ALPHA3_TO_ALPHA2.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(ALPHA3_TO_ALPHA2.len(), 249);
    }

    #[test]
    fn alpha3_becomes_alpha2() {
        assert_eq!(country_alpha2("USA"), "US");
        assert_eq!(country_alpha2("GBR"), "GB");
        assert_eq!(country_alpha2("DEU"), "DE");
        assert_eq!(country_alpha2("deu"), "DE");
        assert_eq!(country_alpha2("IND"), "IN");
        assert_eq!(country_alpha2("ZAF"), "ZA");
        assert_eq!(country_alpha2("KOR"), "KR");
        assert_eq!(country_alpha2("fr"), "FR");
        assert_eq!(country_alpha2("US"), "US");
        assert_eq!(country_alpha2("XXX"), "");
        assert_eq!(country_alpha2("XX"), "");
        assert_eq!(country_alpha2(""), "");
        assert_eq!(country_alpha2("United States"), "");
        assert_eq!(country_alpha2("ÉÉ"), "");
    }
}
