//! Devices: OpenRTB 2.5 `device.devicetype` (list 5.21) to the device words of the event table
//! (`mobile`, `desktop`, `tablet`, `ctv`, `other`).
//!
//! | devicetype | OpenRTB meaning        | device    |
//! |-----------:|------------------------|-----------|
//! | 1          | mobile/tablet          | `mobile`  |
//! | 2          | personal computer      | `desktop` |
//! | 3          | connected TV           | `ctv`     |
//! | 4          | phone                  | `mobile`  |
//! | 5          | tablet                 | `tablet`  |
//! | 6          | connected device       | `other`   |
//! | 7          | set top box            | `ctv`     |
//! | other      | (not in the list)      | `other`   |
//! | null       | (not sent)             | ''        |

/// The device word of an OpenRTB devicetype; '' when none was sent.
pub fn device_word(devicetype: Option<i64>) -> &'static str {
    match devicetype {
        None => "",
        Some(1 | 4) => "mobile",
        Some(2) => "desktop",
        Some(3 | 7) => "ctv",
        Some(5) => "tablet",
        Some(_) => "other",
    }
}

/// The device words of the event table, as JSON impressions send them.
pub const DEVICE_WORDS: [&str; 5] = ["mobile", "desktop", "tablet", "ctv", "other"];

/// A device word as sent in JSON, in any letter case, as the table's word; '' for ''; `None` for
/// anything outside [`DEVICE_WORDS`].
pub fn device_from_word(text: &str) -> Option<&'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Some("");
    }
    DEVICE_WORDS
        .into_iter()
        .find(|w| w.eq_ignore_ascii_case(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_words_normalize_case_and_refuse_others() {
        assert_eq!(device_from_word("mobile"), Some("mobile"));
        assert_eq!(device_from_word("Desktop"), Some("desktop"));
        assert_eq!(device_from_word(" CTV "), Some("ctv"));
        assert_eq!(device_from_word(""), Some(""));
        assert_eq!(device_from_word("phone"), None);
        assert_eq!(device_from_word("mobil"), None);
    }

    #[test]
    fn every_devicetype_maps() {
        let words: Vec<&str> = (1..=8).map(|t| device_word(Some(t))).collect();
        assert_eq!(
            words,
            [
                "mobile", "desktop", "ctv", "mobile", "tablet", "other", "ctv", "other"
            ]
        );
        assert_eq!(device_word(Some(0)), "other");
        assert_eq!(device_word(Some(-1)), "other");
        assert_eq!(device_word(None), "");
    }
}
