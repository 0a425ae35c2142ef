//! Datasource definitions (API.md section 5): airsift's forms `tpacket:IFACE`,
//! `afxdp:IFACE[:QUEUE]`, `pcap:FILE`, and Kismet's `IFACE:opt=val,opt=val` (a bare interface
//! is TPACKET; a path to an existing file is a pcap source), with options. Pure: the text in,
//! a typed definition or an error naming the bad part out.

use std::fmt;
use std::path::Path;

/// What kind of capture a definition opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Tpacket,
    Afxdp { queue: Option<u32> },
    Pcap,
}

impl Kind {
    /// The driver type name in datasource records.
    pub fn driver(&self) -> &'static str {
        match self {
            Kind::Tpacket => "tpacket",
            Kind::Afxdp { .. } => "afxdp",
            Kind::Pcap => "pcapfile",
        }
    }
}

/// A parsed definition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Definition {
    pub kind: Option<Kind>,
    /// The interface name, or the file's path.
    pub interface: String,
    pub options: Options,
}

/// Options of a definition; `None` = not given (the command-line default applies).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    pub name: Option<String>,
    pub uuid: Option<String>,
    pub channel: Option<String>,
    pub channels: Option<Vec<String>>,
    pub hop: Option<bool>,
    /// Channels per second.
    pub hop_rate: Option<f64>,
    /// pcap: at the recorded pace.
    pub realtime: Option<bool>,
    pub workers: Option<usize>,
    pub cores: Option<Vec<usize>>,
    pub fanout: Option<String>,
    pub link_type: Option<String>,
    pub repeat: Option<bool>,
    /// AF_XDP: what the source takes from its interface (`all` or `udp:PORT[+PORT...]`).
    pub select: Option<dataplane::source::afxdp::select::Selector>,
}

/// Why a definition was refused: the part and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefinitionError(pub String);

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad<T>(msg: String) -> Result<T, DefinitionError> {
    Err(DefinitionError(msg))
}

/// Where the options start: the first `:` followed by `ident=`.
fn options_at(text: &str) -> Option<usize> {
    text.match_indices(':').map(|(i, _)| i).find(|&i| {
        let rest = &text[i + 1..];
        let ident = rest.find('=').map(|e| &rest[..e]).filter(|k| !k.is_empty());
        ident.is_some_and(|k| k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    })
}

/// Splits `a=b,c="d,e"` into pairs; quotes protect commas.
fn split_options(text: &str) -> Result<Vec<(String, String)>, DefinitionError> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else {
            return bad(format!("option {rest:?} has no value (expected key=value)"));
        };
        let key = rest[..eq].trim().to_string();
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let Some(end) = q.find('"') else {
                return bad(format!("option {key}: unterminated quote"));
            };
            let next = &q[end + 1..];
            if !next.is_empty() && !next.starts_with(',') {
                return bad(format!("option {key}: text after the closing quote"));
            }
            (q[..end].to_string(), next.strip_prefix(',').unwrap_or(""))
        } else {
            match after.find(',') {
                Some(c) => (after[..c].to_string(), &after[c + 1..]),
                None => (after.to_string(), ""),
            }
        };
        if key.is_empty() {
            return bad("an option with an empty name".into());
        }
        out.push((key, value));
        rest = next;
    }
    Ok(out)
}

fn boolean(key: &str, v: &str) -> Result<bool, DefinitionError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => bad(format!("option {key}={v:?}: expected true or false")),
    }
}

/// Kismet's hop rate: `5`, `5/sec`, `10/min` → channels per second.
fn hop_rate(v: &str) -> Result<f64, DefinitionError> {
    let (num, per) = match v.split_once('/') {
        Some((n, u)) => (n, u),
        None => (v, "sec"),
    };
    let n: f64 = num
        .trim()
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n > 0.0)
        .ok_or_else(|| DefinitionError(format!("option hop_rate={v:?}: not a positive number")))?;
    match per.trim() {
        "sec" | "s" | "second" => Ok(n),
        "min" | "m" | "minute" => Ok(n / 60.0),
        u => bad(format!(
            "option hop_rate={v:?}: unit {u:?} is not sec or min"
        )),
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl Options {
    fn set(&mut self, key: &str, v: &str) -> Result<(), DefinitionError> {
        let num = |what: &str| -> Result<usize, DefinitionError> {
            v.parse::<usize>()
                .ok()
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| DefinitionError(format!("option {what}={v:?}: expected 1..=1024")))
        };
        match key {
            "name" => {
                if v.is_empty() || v.len() > 64 {
                    return bad(format!("option name={v:?}: 1 to 64 characters"));
                }
                self.name = Some(v.to_string())
            }
            "uuid" => {
                if !is_uuid(v) {
                    return bad(format!("option uuid={v:?}: not a UUID"));
                }
                self.uuid = Some(v.to_ascii_uppercase())
            }
            "channel" => self.channel = Some(v.to_string()),
            "channels" => self.channels = Some(list(v)),
            "hop" => self.hop = Some(boolean(key, v)?),
            "hop_rate" => self.hop_rate = Some(hop_rate(v)?),
            "realtime" => self.realtime = Some(boolean(key, v)?),
            "loop" => self.repeat = Some(boolean(key, v)?),
            "workers" => self.workers = Some(num("workers")?),
            "cores" => {
                let cores: Result<Vec<usize>, _> =
                    list(v).iter().map(|c| c.parse::<usize>()).collect();
                match cores {
                    Ok(c) if !c.is_empty() => self.cores = Some(c),
                    _ => return bad(format!("option cores={v:?}: expected core numbers")),
                }
            }
            "fanout" => match v {
                "transmitter" | "lb" | "cpu" => self.fanout = Some(v.to_string()),
                _ => {
                    return bad(format!(
                        "option fanout={v:?}: expected transmitter, lb or cpu"
                    ))
                }
            },
            "link_type" => match v {
                "auto" | "radiotap" | "ieee80211" | "ppi" => self.link_type = Some(v.to_string()),
                _ => {
                    return bad(format!(
                        "option link_type={v:?}: expected auto, radiotap, ieee80211 or ppi"
                    ))
                }
            },
            "select" => match v.parse() {
                Ok(s) => self.select = Some(s),
                Err(e) => return bad(format!("option select={v:?}: {e}")),
            },
            _ => {
                return bad(format!(
                    "unknown option {key:?} (known: name, uuid, channel, channels, hop, hop_rate, \
                     realtime, workers, cores, fanout, link_type, loop, select)"
                ))
            }
        }
        Ok(())
    }
}

/// Parses a definition (see the module doc).
pub fn parse(text: &str) -> Result<Definition, DefinitionError> {
    let text = text.trim();
    if text.is_empty() {
        return bad("empty definition".into());
    }
    let (head, opts) = match options_at(text) {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    };
    let mut options = Options::default();
    for (k, v) in split_options(opts)? {
        options.set(&k, &v)?;
    }
    let (kind, interface) = match head.split_once(':') {
        Some(("tpacket", i)) => (Kind::Tpacket, i.to_string()),
        Some(("pcap" | "pcapfile", f)) => (Kind::Pcap, f.to_string()),
        Some(("afxdp", rest)) => match rest.rsplit_once(':') {
            Some((i, q)) => match q.parse::<u32>() {
                Ok(q) => (Kind::Afxdp { queue: Some(q) }, i.to_string()),
                Err(_) => return bad(format!("afxdp queue {q:?} is not a number")),
            },
            None => (Kind::Afxdp { queue: None }, rest.to_string()),
        },
        Some((k, _)) if !Path::new(head).exists() => {
            return bad(format!(
                "unknown source kind {k:?} in {head:?} (tpacket, afxdp, pcap, or Kismet's IFACE:opt=val)"
            ))
        }
        _ if Path::new(head).is_file() => (Kind::Pcap, head.to_string()),
        _ => (Kind::Tpacket, head.to_string()),
    };
    if interface.is_empty() {
        return bad(format!("{head:?} names no interface or file"));
    }
    if kind != Kind::Pcap && (interface.len() > 15 || interface.contains(['/', ' '])) {
        return bad(format!("{interface:?} is not an interface name"));
    }
    if options.select.is_some() && !matches!(kind, Kind::Afxdp { .. }) {
        return bad(format!(
            "option select applies to afxdp sources, not to {:?}",
            kind.driver()
        ));
    }
    Ok(Definition {
        kind: Some(kind),
        interface,
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn airsift_forms() {
        let d = parse("tpacket:wlan0").unwrap();
        assert_eq!(
            (d.kind, d.interface.as_str()),
            (Some(Kind::Tpacket), "wlan0")
        );
        let d = parse("afxdp:eth1:3").unwrap();
        assert_eq!(d.kind, Some(Kind::Afxdp { queue: Some(3) }));
        assert_eq!(d.interface, "eth1");
        let d = parse("afxdp:eth1").unwrap();
        assert_eq!(d.kind, Some(Kind::Afxdp { queue: None }));
        let d = parse("afxdp:eth1:2:select=udp:7000+5555,name=feeds").unwrap();
        assert_eq!(d.kind, Some(Kind::Afxdp { queue: Some(2) }));
        assert_eq!(
            d.options.select,
            Some(dataplane::source::afxdp::select::Selector::Udp(vec![
                5555, 7000
            ]))
        );
        assert_eq!(d.options.name.as_deref(), Some("feeds"));
        let d = parse("pcap:/tmp/x:y.pcap").unwrap();
        assert_eq!(
            (d.kind, d.interface.as_str()),
            (Some(Kind::Pcap), "/tmp/x:y.pcap")
        );
    }

    #[test]
    fn kismet_forms_and_options() {
        let d = parse("wlan0:name=roof,channel=6,hop=false").unwrap();
        assert_eq!(d.kind, Some(Kind::Tpacket));
        assert_eq!(d.interface, "wlan0");
        assert_eq!(d.options.name.as_deref(), Some("roof"));
        assert_eq!(d.options.channel.as_deref(), Some("6"));
        assert_eq!(d.options.hop, Some(false));
        let d = parse(r#"wlan1:channels="1,6,11",hop_rate=10/min,cores="0,1""#).unwrap();
        assert_eq!(
            d.options.channels,
            Some(vec!["1".into(), "6".into(), "11".into()])
        );
        assert!((d.options.hop_rate.unwrap() - 10.0 / 60.0).abs() < 1e-9);
        assert_eq!(d.options.cores, Some(vec![0, 1]));
        let d = parse(
            "tpacket:vb:link_type=radiotap,workers=2,uuid=5fe308bd-0000-0000-0000-00000000abcd",
        )
        .unwrap();
        assert_eq!(d.options.workers, Some(2));
        assert_eq!(
            d.options.uuid.as_deref(),
            Some("5FE308BD-0000-0000-0000-00000000ABCD")
        );
        // A path to an existing file is a pcap source.
        let f = std::env::temp_dir().join(format!("airsift-def-{}.pcap", std::process::id()));
        std::fs::write(&f, b"x").unwrap();
        let d = parse(&format!("{}:name=replay,realtime=true", f.display())).unwrap();
        assert_eq!(d.kind, Some(Kind::Pcap));
        assert_eq!(d.options.realtime, Some(true));
        std::fs::remove_file(&f).unwrap();
    }

    #[test]
    fn errors_name_the_part() {
        for (text, needle) in [
            ("", "empty"),
            ("wlan0:colour=blue", "unknown option \"colour\""),
            ("wlan0:hop=maybe", "hop=\"maybe\""),
            ("wlan0:hop_rate=-1", "hop_rate"),
            ("wlan0:workers=0", "workers"),
            ("wlan0:uuid=nope", "uuid"),
            ("wlan0:name=\"x", "unterminated"),
            ("afxdp:eth0:q", "queue"),
            ("bogus:thing", "unknown source kind"),
            ("tpacket:", "names no interface"),
            ("tpacket:averyveryverylongname", "not an interface name"),
            ("wlan0:fanout=hash", "fanout"),
            ("afxdp:eth0:select=udp:0", "select=\"udp:0\""),
            ("wlan0:select=udp:7000", "applies to afxdp sources"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
