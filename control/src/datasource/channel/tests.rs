use super::*;

fn ch(freq: u32, width: Width, center: Option<u32>) -> Channel {
    Channel {
        freq_mhz: freq,
        width,
        center_freq1_mhz: center,
    }
}

fn parse(s: &str) -> Channel {
    Channel::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

fn reason(s: &str) -> Reason {
    match Channel::parse(s) {
        Ok(c) => panic!("{s:?} should be rejected, parsed as {c:?}"),
        Err(e) => e.reason,
    }
}

#[test]
fn plain_channel_numbers_are_20mhz_no_ht() {
    for (text, freq) in [
        ("1", 2412),
        ("6", 2437),
        ("11", 2462),
        ("13", 2472),
        ("14", 2484),
        ("36", 5180),
        ("64", 5320),
        ("100", 5500),
        ("149", 5745),
        ("165", 5825),
        ("177", 5885),
        ("184", 4920),
        ("196", 4980),
    ] {
        assert_eq!(parse(text), ch(freq, Width::NoHt20, None), "{text}");
        assert_eq!(parse(text).to_kismet_string(), text);
    }
}

#[test]
fn frequencies_in_mhz_name_the_same_channels() {
    for (text, freq, canonical) in [
        ("2412", 2412, "1"),
        ("2437", 2437, "6"),
        ("2484", 2484, "14"),
        ("5180", 5180, "36"),
        ("5825", 5825, "165"),
        ("4920", 4920, "184"),
        ("5955", 5955, "1W6e"),
        ("5935", 5935, "2W6e"),
        ("7115", 7115, "233W6e"),
    ] {
        let c = parse(text);
        assert_eq!(c, ch(freq, Width::NoHt20, None), "{text}");
        assert_eq!(c.to_kismet_string(), canonical);
    }
    assert_eq!(parse("2437HT40+"), parse("6HT40+"));
    assert_eq!(parse("5180VHT80"), parse("36VHT80"));
}

#[test]
fn six_ghz_channels_use_the_w6e_suffix() {
    assert_eq!(parse("1W6e"), ch(5955, Width::NoHt20, None));
    assert_eq!(parse("1w6E"), ch(5955, Width::NoHt20, None));
    assert_eq!(parse("1-W6e"), ch(5955, Width::NoHt20, None));
    assert_eq!(parse("5W6e"), ch(5975, Width::NoHt20, None));
    assert_eq!(parse("2W6e"), ch(5935, Width::NoHt20, None));
    assert_eq!(parse("233W6e"), ch(7115, Width::NoHt20, None));
    assert_eq!(parse("1-W6e").to_kismet_string(), "1W6e");
    assert_eq!(parse("37W6e").band(), Some(Band::Ghz6));
    assert_eq!(parse("37W6e").number(), Some(37));
    for bad in ["3W6e", "4W6e", "0W6e", "237W6e", "1000W6e"] {
        assert_eq!(reason(bad), Reason::Not6GhzChannel, "{bad}");
    }
    assert_eq!(
        reason("5955HT20"),
        Reason::WidthNotInBand(Width::Ht20, Band::Ghz6)
    );
    assert_eq!(
        reason("5955VHT80"),
        Reason::WidthNotInBand(Width::Vht80, Band::Ghz6)
    );
}

#[test]
fn ht20_keeps_the_control_frequency() {
    assert_eq!(parse("6HT20"), ch(2437, Width::Ht20, None));
    assert_eq!(parse("6ht20"), ch(2437, Width::Ht20, None));
    assert_eq!(parse("36HT20"), ch(5180, Width::Ht20, None));
    assert_eq!(parse("6HT20").to_kismet_string(), "6HT20");
}

#[test]
fn ht40_on_24ghz_needs_a_secondary_channel_within_1_to_13() {
    assert_eq!(parse("6HT40+"), ch(2437, Width::Ht40Plus, Some(2447)));
    assert_eq!(parse("6HT40-"), ch(2437, Width::Ht40Minus, Some(2427)));
    assert_eq!(parse("1HT40+"), ch(2412, Width::Ht40Plus, Some(2422)));
    assert_eq!(parse("9HT40+"), ch(2452, Width::Ht40Plus, Some(2462)));
    assert_eq!(parse("5HT40-"), ch(2432, Width::Ht40Minus, Some(2422)));
    assert_eq!(parse("13HT40-"), ch(2472, Width::Ht40Minus, Some(2462)));
    assert_eq!(parse("11ht40-").to_kismet_string(), "11HT40-");
    for bad in ["10HT40+", "13HT40+", "14HT40+"] {
        assert_eq!(reason(bad), Reason::NoHt40Pair(Width::Ht40Plus), "{bad}");
    }
    for bad in ["1HT40-", "4HT40-", "14HT40-"] {
        assert_eq!(reason(bad), Reason::NoHt40Pair(Width::Ht40Minus), "{bad}");
    }
}

#[test]
fn ht40_on_5ghz_follows_the_40mhz_channel_pairs() {
    assert_eq!(parse("36HT40+"), ch(5180, Width::Ht40Plus, Some(5190)));
    assert_eq!(parse("40HT40-"), ch(5200, Width::Ht40Minus, Some(5190)));
    assert_eq!(parse("44HT40+"), ch(5220, Width::Ht40Plus, Some(5230)));
    assert_eq!(parse("140HT40+"), ch(5700, Width::Ht40Plus, Some(5710)));
    assert_eq!(parse("144HT40-"), ch(5720, Width::Ht40Minus, Some(5710)));
    assert_eq!(parse("149HT40+"), ch(5745, Width::Ht40Plus, Some(5755)));
    assert_eq!(parse("161HT40-"), ch(5805, Width::Ht40Minus, Some(5795)));
    assert_eq!(reason("36HT40-"), Reason::NoHt40Pair(Width::Ht40Minus));
    assert_eq!(reason("40HT40+"), Reason::NoHt40Pair(Width::Ht40Plus));
    assert_eq!(reason("165HT40-"), Reason::NoHt40Pair(Width::Ht40Minus));
    // Outside the 36-64, 100-144 and 149-177 runs there is no 40 MHz channel.
    assert_eq!(reason("32HT40+"), Reason::NoHt40Pair(Width::Ht40Plus));
    assert_eq!(reason("184HT40+"), Reason::NoHt40Pair(Width::Ht40Plus));
}

#[test]
fn vht80_centres_come_from_the_80mhz_blocks() {
    for (text, freq, center) in [
        ("36VHT80", 5180, 5210),
        ("40VHT80", 5200, 5210),
        ("48VHT80", 5240, 5210),
        ("52VHT80", 5260, 5290),
        ("100VHT80", 5500, 5530),
        ("116VHT80", 5580, 5610),
        ("132VHT80", 5660, 5690),
        ("144VHT80", 5720, 5690),
        ("149VHT80", 5745, 5775),
        ("161VHT80", 5805, 5775),
        ("165VHT80", 5825, 5855),
    ] {
        assert_eq!(parse(text), ch(freq, Width::Vht80, Some(center)), "{text}");
        assert_eq!(parse(text).to_kismet_string(), text);
    }
    assert_eq!(parse("149vht80"), parse("149VHT80"));
    assert_eq!(
        reason("6VHT80"),
        Reason::WidthNotInBand(Width::Vht80, Band::Ghz2)
    );
    assert_eq!(reason("184VHT80"), Reason::NoBlock(Width::Vht80));
    assert_eq!(reason("34VHT80"), Reason::NoBlock(Width::Vht80));
}

#[test]
fn vht160_centres_come_from_the_160mhz_blocks() {
    for (text, freq, center) in [
        ("36VHT160", 5180, 5250),
        ("64VHT160", 5320, 5250),
        ("100VHT160", 5500, 5570),
        ("128VHT160", 5640, 5570),
        ("149VHT160", 5745, 5815),
    ] {
        assert_eq!(parse(text), ch(freq, Width::Vht160, Some(center)), "{text}");
        assert_eq!(parse(text).to_kismet_string(), text);
    }
    // 132-144 is only 80 MHz wide.
    assert_eq!(reason("132VHT160"), Reason::NoBlock(Width::Vht160));
    assert_eq!(
        reason("6VHT160"),
        Reason::WidthNotInBand(Width::Vht160, Band::Ghz2)
    );
}

#[test]
fn explicit_vht_centres_must_contain_the_control_channel() {
    // The plan's own centre, as a channel number or in MHz, is the plain form.
    assert_eq!(parse("36VHT80-42"), parse("36VHT80"));
    assert_eq!(parse("36VHT80-5210"), parse("36VHT80"));
    assert_eq!(parse("36VHT80-42").to_kismet_string(), "36VHT80");
    // A centre off the plan is kept and printed back.
    let odd = parse("40VHT80-46");
    assert_eq!(odd, ch(5200, Width::Vht80, Some(5230)));
    assert_eq!(odd.to_kismet_string(), "40VHT80-46");
    assert_eq!(parse("40VHT80-46"), parse(&odd.to_kismet_string()));
    assert_eq!(parse("36VHT160-50"), parse("36VHT160"));
    assert_eq!(
        reason("36VHT80-58"),
        Reason::CenterOutside(Width::Vht80, 5290)
    );
    assert_eq!(
        reason("36VHT80-46"),
        Reason::CenterOutside(Width::Vht80, 5230)
    );
    assert_eq!(
        reason("36VHT160-114"),
        Reason::CenterOutside(Width::Vht160, 5570)
    );
    assert_eq!(reason("36VHT80-2437"), Reason::NotAChannel);
    assert_eq!(reason("36VHT80-0"), Reason::NotAChannel);
}

#[test]
fn narrow_channels() {
    assert_eq!(parse("6W5"), ch(2437, Width::Mhz5, None));
    assert_eq!(parse("36w10"), ch(5180, Width::Mhz10, None));
    assert_eq!(parse("6W5").to_kismet_string(), "6W5");
    assert_eq!(parse("36W10").to_kismet_string(), "36W10");
    assert_eq!(Width::Mhz5.mhz(), 5);
    assert_eq!(Width::Vht160.mhz(), 160);
}

#[test]
fn bad_text_is_rejected_with_a_reason() {
    assert_eq!(reason(""), Reason::Empty);
    assert_eq!(reason("   "), Reason::Empty);
    assert_eq!(reason("abc"), Reason::NoNumber);
    assert_eq!(reason("HT40+"), Reason::NoNumber);
    assert_eq!(reason("-6"), Reason::NoNumber);
    assert_eq!(reason("+6"), Reason::NoNumber);
    assert_eq!(reason("６"), Reason::NoNumber);
    assert_eq!(reason("6HT40"), Reason::UnknownSuffix);
    assert_eq!(reason("6HT40*"), Reason::UnknownSuffix);
    assert_eq!(reason("6 HT20"), Reason::UnknownSuffix);
    assert_eq!(reason("6HT20 x"), Reason::UnknownSuffix);
    assert_eq!(reason("6VHT80-"), Reason::UnknownSuffix);
    assert_eq!(reason("36VHT80-x"), Reason::UnknownSuffix);
    assert_eq!(reason("36VHT80-42-1"), Reason::UnknownSuffix);
    assert_eq!(reason("36VHT8"), Reason::UnknownSuffix);
    assert_eq!(reason("1W6eHT20"), Reason::UnknownSuffix);
    assert_eq!(reason("6.0"), Reason::UnknownSuffix);
    assert_eq!(reason("0"), Reason::NotAChannel);
    assert_eq!(reason("197"), Reason::NotAChannel);
    assert_eq!(reason("999"), Reason::NotAChannel);
    assert_eq!(reason("1000"), Reason::NotAChannel);
    assert_eq!(reason("2413"), Reason::NotAChannel);
    assert_eq!(reason("5040"), Reason::NotAChannel);
    assert_eq!(reason("5960"), Reason::NotAChannel);
    assert_eq!(reason("99999999999999999999"), Reason::NotAChannel);
    assert_eq!(parse(" 6 "), parse("6"));
}

#[test]
fn error_text_names_the_input_and_the_reason() {
    let e = Channel::parse("13HT40+").unwrap_err();
    let text = e.to_string();
    assert!(text.contains("\"13HT40+\""), "{text}");
    assert!(text.contains("above") && text.contains("HT40+"), "{text}");
    let e = Channel::parse("149VHT90").unwrap_err().to_string();
    assert!(e.contains("unknown suffix"), "{e}");
    let e = Channel::parse("6VHT80").unwrap_err().to_string();
    assert!(e.contains("VHT80 is not available on 2.4 GHz"), "{e}");
    // Long or multi-byte input is shortened on a character boundary.
    let long = "é".repeat(100);
    let e = Channel::parse(&long).unwrap_err();
    assert!(e.text.chars().count() <= 41, "{}", e.text);
    assert!(e.text.ends_with('…'));
    let e = Channel::parse(&format!("6{}", "x".repeat(10_000))).unwrap_err();
    assert!(e.to_string().len() < 200);
}

#[test]
fn from_str_and_display_use_kismet_names() {
    let c: Channel = "149VHT80".parse().unwrap();
    assert_eq!(c.to_string(), "149VHT80");
    assert!("bogus".parse::<Channel>().is_err());
}

#[test]
fn channel_numbers_map_to_frequencies_like_the_kernel() {
    // ieee80211_channel_to_frequency: 2.4 GHz 2407 + 5n (14: 2484), 5 GHz 5000 + 5n (182-196:
    // 4000 + 5n), 6 GHz 5950 + 5n (2: 5935).
    for n in 1..=13 {
        assert_eq!(channel_to_freq(Band::Ghz2, n), Some(2407 + 5 * n));
    }
    assert_eq!(channel_to_freq(Band::Ghz2, 14), Some(2484));
    assert_eq!(channel_to_freq(Band::Ghz2, 0), None);
    assert_eq!(channel_to_freq(Band::Ghz2, 15), None);
    assert_eq!(channel_to_freq(Band::Ghz5, 36), Some(5180));
    assert_eq!(channel_to_freq(Band::Ghz5, 181), Some(5905));
    assert_eq!(channel_to_freq(Band::Ghz5, 182), Some(4910));
    assert_eq!(channel_to_freq(Band::Ghz5, 196), Some(4980));
    assert_eq!(channel_to_freq(Band::Ghz5, 197), None);
    assert_eq!(channel_to_freq(Band::Ghz6, 1), Some(5955));
    assert_eq!(channel_to_freq(Band::Ghz6, 2), Some(5935));
    assert_eq!(channel_to_freq(Band::Ghz6, 233), Some(7115));
    assert_eq!(channel_to_freq(Band::Ghz6, 3), None);
    for band in [Band::Ghz2, Band::Ghz5, Band::Ghz6] {
        for n in 0..=300 {
            if let Some(f) = channel_to_freq(band, n) {
                assert_eq!(freq_to_channel(f), Some((band, n)), "{band:?} {n}");
                assert_eq!(Band::of_freq(f), Some(band), "{band:?} {n}");
            }
        }
    }
    assert_eq!(freq_to_channel(2413), None);
    assert_eq!(freq_to_channel(0), None);
    assert_eq!(freq_to_channel(u32::MAX), None);
}

#[test]
fn every_accepted_name_round_trips_through_its_canonical_form() {
    let suffixes = [
        "", "HT20", "HT40+", "HT40-", "VHT80", "VHT160", "W5", "W10", "W6e", "-W6e", "VHT80-42",
    ];
    let mut accepted = 0;
    for n in (0..=260).chain((2400..=7200).step_by(5)) {
        for suffix in suffixes {
            let text = format!("{n}{suffix}");
            let Ok(c) = Channel::parse(&text) else {
                continue;
            };
            accepted += 1;
            let canonical = c.to_kismet_string();
            assert_eq!(Channel::parse(&canonical), Ok(c), "{text} -> {canonical}");
            assert_eq!(c.to_kismet_string(), canonical);
        }
    }
    assert!(accepted > 500, "{accepted}");
}

#[test]
fn plain_names_agree_with_the_scan_reports_channel_names() {
    // scan::kismet::channel_for names the channel of a reported frequency; a plain channel's
    // canonical name must be the same string, so both sides of the API spell channels alike.
    for n in (1..=233).chain((2400..=7200).step_by(5)) {
        for text in [n.to_string(), format!("{n}W6e")] {
            let Ok(c) = Channel::parse(&text) else {
                continue;
            };
            assert_eq!(
                crate::scan::kismet::channel_for(c.freq_mhz * 1000),
                Some(c.to_kismet_string()),
                "{text}"
            );
        }
    }
}

#[test]
fn no_input_panics() {
    // Every string of up to three characters over an alphabet of the syntax's pieces, plus
    // edge cases; the parser must answer, never panic.
    let alphabet = [
        "", "0", "1", "6", "9", "H", "T", "V", "W", "e", "+", "-", " ", "é", "\0",
    ];
    for a in alphabet {
        for b in alphabet {
            for c in alphabet {
                for d in ["", "4", "HT40+", "VHT80-", "W6e"] {
                    let _ = Channel::parse(&format!("{a}{b}{c}{d}"));
                }
            }
        }
    }
    for text in [
        "4294967295",
        "4294967296",
        "36VHT80-4294967295",
        "36VHT160-9999999999",
    ] {
        let _ = Channel::parse(text);
    }
}

#[test]
fn hand_built_channels_still_print() {
    // A frequency with no channel number prints as MHz; an odd centre as MHz.
    assert_eq!(ch(5040, Width::NoHt20, None).to_kismet_string(), "5040");
    assert_eq!(
        ch(5180, Width::Vht80, Some(5213)).to_kismet_string(),
        "36VHT80-5213"
    );
    assert_eq!(ch(5180, Width::Vht80, None).to_kismet_string(), "36VHT80");
}
