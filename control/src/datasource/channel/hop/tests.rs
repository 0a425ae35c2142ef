use super::*;

/// `n` distinct channels (2.4 GHz first, then 5 GHz), so positions can be read back.
fn list(n: usize) -> Vec<Channel> {
    let names = [
        "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "36", "40",
        "44", "48", "52", "56",
    ];
    names
        .iter()
        .take(n)
        .map(|s| Channel::parse(s).unwrap())
        .collect()
}

fn opts(shuffle: bool, split: bool) -> HopOptions {
    HopOptions {
        rate: 5.0,
        shuffle,
        shuffle_skip: DEFAULT_SHUFFLE_SKIP,
        split,
    }
}

#[test]
fn dwell_is_one_over_the_rate_with_kismets_50ms_floor() {
    let d = |rate| {
        plan(
            &list(3),
            1,
            &HopOptions {
                rate,
                ..opts(false, false)
            },
        )
        .map(|p| p.dwell)
    };
    assert_eq!(d(1.0), Ok(Duration::from_secs(1)));
    assert_eq!(d(5.0), Ok(Duration::from_millis(200)));
    assert_eq!(d(3.0), Ok(Duration::from_micros(333_333)));
    assert_eq!(d(0.5), Ok(Duration::from_secs(2)));
    assert_eq!(d(20.0), Ok(MIN_DWELL));
    assert_eq!(d(100.0), Ok(MIN_DWELL));
    assert_eq!(d(1e9), Ok(MIN_DWELL));
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(d(bad), Err(HopError::BadRate(_))), "{bad}");
    }
    assert!(matches!(d(1e-300), Err(HopError::RateTooLow(_))));
}

#[test]
fn split_offsets_divide_first_as_kismet_does() {
    let offsets = |len, n| {
        plan(&list(len), n, &opts(true, true))
            .unwrap()
            .sources
            .iter()
            .map(|s| s.offset)
            .collect::<Vec<_>>()
    };
    // (len / n) * i: 14 channels over 3 sources is 0, 4, 8 (not 0, 4, 9).
    assert_eq!(offsets(14, 3), vec![0, 4, 8]);
    assert_eq!(offsets(13, 2), vec![0, 6]);
    assert_eq!(offsets(20, 4), vec![0, 5, 10, 15]);
    assert_eq!(offsets(5, 1), vec![0]);
    // More sources than channels: len / n is 0, so every source starts at 0.
    assert_eq!(offsets(3, 5), vec![0; 5]);
    // Without split every source starts at the list's start.
    let p = plan(&list(14), 3, &opts(true, false)).unwrap();
    assert!(p.sources.iter().all(|s| s.offset == 0));
}

#[test]
fn shuffle_is_a_stride_walk_that_covers_the_list_every_cycle() {
    let p = plan(&list(14), 1, &opts(true, true)).unwrap();
    let s = &p.sources[0];
    assert_eq!(s.stride, 4);
    let first = s.positions(28);
    assert_eq!(
        &first[..14],
        &[0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 3, 7, 11]
    );
    assert_eq!(&first[14..], &first[..14], "the walk repeats");
    let mut sorted = first[..14].to_vec();
    sorted.sort();
    assert_eq!(sorted, (0..14).collect::<Vec<_>>());
}

#[test]
fn an_offset_walk_finishes_its_pass_then_restarts_at_the_next_residue() {
    // Source 1 of 3 on 14 channels: offset 4, stride 4. Kismet walks 4, 8, 12, then restarts
    // at 1, 2, 3, 0, 1, ... (its restart counter does not know about the offset).
    let p = plan(&list(14), 3, &opts(true, true)).unwrap();
    let s = &p.sources[1];
    assert_eq!((s.offset, s.stride), (4, 4));
    assert_eq!(
        s.positions(17),
        vec![4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 3, 7, 11, 0, 4, 8, 12]
    );
    let s2 = &p.sources[2];
    assert_eq!(s2.positions(5), vec![8, 12, 1, 5, 9]);
}

#[test]
fn a_skip_of_zero_or_beyond_the_list_walks_in_order() {
    for skip in [0, 4, 9] {
        let o = HopOptions {
            shuffle_skip: skip,
            ..opts(true, false)
        };
        let p = plan(&list(4), 1, &o).unwrap();
        assert_eq!(p.sources[0].stride, 1, "skip {skip}");
        assert_eq!(p.sources[0].positions(6), vec![0, 1, 2, 3, 0, 1]);
    }
}

#[test]
fn without_shuffle_each_source_rotates_from_its_offset() {
    let p = plan(&list(13), 2, &opts(false, true)).unwrap();
    assert_eq!(p.sources[0].stride, 1);
    assert_eq!(
        p.sources[0].positions(14),
        (0..13).chain([0]).collect::<Vec<_>>()
    );
    assert_eq!(
        p.sources[1].positions(14),
        vec![6, 7, 8, 9, 10, 11, 12, 0, 1, 2, 3, 4, 5, 6]
    );
}

#[test]
fn hops_yield_the_channels_at_those_positions() {
    let chans = list(14);
    let p = plan(&chans, 2, &opts(true, true)).unwrap();
    for s in &p.sources {
        let got: Vec<Channel> = s.hops().take(40).collect();
        let want: Vec<Channel> = s.positions(40).into_iter().map(|i| chans[i]).collect();
        assert_eq!(got, want);
        assert_eq!(s.channels(), &chans[..]);
    }
    assert_eq!(p.sources[1].hops().next(), Some(chans[7]));
}

#[test]
fn every_position_stays_in_range_for_any_list_and_group() {
    for len in 1..=20 {
        for n in 1..=6 {
            for skip in 0..=6 {
                for (shuffle, split) in [(true, true), (true, false), (false, true)] {
                    let o = HopOptions {
                        shuffle_skip: skip,
                        ..opts(shuffle, split)
                    };
                    let p = plan(&list(len), n, &o).unwrap();
                    assert_eq!(p.sources.len(), n);
                    for s in &p.sources {
                        let pos = s.positions(3 * len + 5);
                        assert!(pos.iter().all(|&i| i < len), "{len} {n} {skip} {pos:?}");
                        // After the first pass, any `len` consecutive hops visit every channel.
                        let tail = &pos[pos.len() - len..];
                        let mut seen = tail.to_vec();
                        seen.sort();
                        seen.dedup();
                        assert_eq!(seen.len(), len, "{len} {n} {skip} {pos:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn empty_lists_and_groups_are_errors() {
    assert_eq!(plan(&[], 1, &opts(true, true)), Err(HopError::NoChannels));
    assert_eq!(
        plan(&list(3), 0, &opts(true, true)),
        Err(HopError::NoSources)
    );
    assert_eq!(
        HopError::NoChannels.to_string(),
        "the channel list is empty"
    );
    assert!(HopError::BadRate(0.0).to_string().contains("above 0"));
}

#[test]
fn kismet_defaults() {
    let o = HopOptions::kismet(5.0);
    assert!(o.shuffle && o.split);
    assert_eq!(o.shuffle_skip, 4);
    assert_eq!(o.rate, 5.0);
}

#[test]
fn rate_text_follows_kismets_channel_hoprate() {
    assert_eq!(parse_rate("5/sec"), Ok(5.0));
    assert_eq!(parse_rate(" 5 / sec "), Ok(5.0));
    assert_eq!(parse_rate("30/min"), Ok(0.5));
    assert_eq!(parse_rate("2/dwell"), Ok(0.5));
    assert_eq!(parse_rate("0.5/sec"), Ok(0.5));
    for bad in [
        "",
        "5",
        "5/hour",
        "/sec",
        "x/sec",
        "0/sec",
        "-1/sec",
        "inf/sec",
        "NaN/sec",
        "1e-320/dwell",
        "5/sec/x",
    ] {
        assert!(
            matches!(parse_rate(bad), Err(HopError::BadRateText(_))),
            "{bad:?}"
        );
    }
    let e = parse_rate("fast").unwrap_err().to_string();
    assert!(e.contains("\"fast\"") && e.contains("N/sec"), "{e}");
}

#[test]
fn sources_share_hopping_only_with_the_same_channel_set() {
    let a = list(4);
    let mut b = a.clone();
    b.reverse();
    assert!(same_hop_list(&a, &b));
    assert!(!same_hop_list(&a, &list(3)));
    let mut c = a.clone();
    c[0] = Channel::parse("149").unwrap();
    assert!(!same_hop_list(&a, &c));
}
