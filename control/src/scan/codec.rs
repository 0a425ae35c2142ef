//! Compact binary encodings: a validated request (one journal row) and the device and
//! datasource records a checkpoint writes. Varints for integers, raw little-endian `f64`
//! (so a record reloads bit for bit), length-prefixed UTF-8 strings, a version byte first.

use super::crypt::Crypt;
use super::datasource::Source;
use super::device::{Device, Location, Point, SeenBy, SsidRec};
use super::report::{Batch, Fix, Report};

const VERSION: u8 = 1;

/// A record that does not decode: the stored bytes are damaged or from another version.
#[derive(Debug)]
pub struct CodecError(pub String);

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type R<T> = Result<T, CodecError>;

#[derive(Default)]
pub struct Out(pub Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn var(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn zig(&mut self, v: i64) {
        self.var(((v << 1) ^ (v >> 63)) as u64);
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.var(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn mac(&mut self, m: u64) {
        self.0.extend_from_slice(&m.to_be_bytes()[2..]);
    }
}

pub struct In<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl<'a> In<'a> {
    fn new(b: &'a [u8], what: &'static str) -> In<'a> {
        In { b, what }
    }
    fn err(&self, why: &str) -> CodecError {
        CodecError(format!("damaged {} record: {why}", self.what))
    }
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        if self.b.len() < n {
            return Err(self.err("truncated"));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn var(&mut self) -> R<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= ((b & 0x7F) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint too long"))
    }
    fn u32(&mut self) -> R<u32> {
        u32::try_from(self.var()?).map_err(|_| self.err("number out of range"))
    }
    fn zig(&mut self) -> R<i64> {
        let v = self.var()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }
    fn i16(&mut self) -> R<i16> {
        i16::try_from(self.zig()?).map_err(|_| self.err("signal out of range"))
    }
    fn f64(&mut self) -> R<f64> {
        let b = self.take(8)?;
        Ok(f64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn str(&mut self) -> R<Box<str>> {
        let n = self.var()? as usize;
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(Into::into)
            .map_err(|_| self.err("string is not UTF-8"))
    }
    fn mac(&mut self) -> R<u64> {
        let b = self.take(6)?;
        Ok(b.iter().fold(0u64, |a, &x| a << 8 | x as u64))
    }
    fn uuid(&mut self) -> R<[u8; 16]> {
        Ok(self.take(16)?.try_into().expect("16 bytes"))
    }
    fn version(&mut self) -> R<()> {
        match self.u8()? {
            VERSION => Ok(()),
            v => Err(self.err(&format!("unknown version {v}"))),
        }
    }
    fn end(&self) -> R<()> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(self.err("trailing bytes"))
        }
    }
}

mod has {
    pub const SSID: u64 = 1;
    pub const CRYPT: u64 = 2;
    pub const CHANNEL: u64 = 4;
    pub const FREQ: u64 = 8;
    pub const SIGNAL: u64 = 16;
    pub const FIX: u64 = 32;
    pub const ALT: u64 = 64;
    pub const SPEED: u64 = 128;
    pub const TAGS: u64 = 256;
}

/// One journal row.
pub fn encode_batch(b: &Batch) -> Vec<u8> {
    let mut o = Out(Vec::with_capacity(64 + b.reports.len() * 48));
    o.u8(VERSION);
    o.var(b.now as u64);
    o.0.extend_from_slice(&b.source);
    o.str(&b.name);
    o.var(b.rejected as u64);
    o.var(b.reports.len() as u64);
    for r in &b.reports {
        let mut flags = 0;
        let mut set = |c: bool, f: u64| {
            if c {
                flags |= f;
            }
        };
        set(r.ssid.is_some(), has::SSID);
        set(r.crypt.is_some(), has::CRYPT);
        set(r.channel.is_some(), has::CHANNEL);
        set(r.freq_khz.is_some(), has::FREQ);
        set(r.signal.is_some(), has::SIGNAL);
        set(r.fix.is_some(), has::FIX);
        set(r.fix.is_some_and(|f| f.alt.is_some()), has::ALT);
        set(r.fix.is_some_and(|f| f.speed.is_some()), has::SPEED);
        set(!r.tags.is_empty(), has::TAGS);
        o.var(flags);
        o.mac(r.mac);
        o.zig(r.time as i64 - b.now as i64);
        if let Some(s) = &r.ssid {
            o.str(s);
        }
        if let Some((c, ie)) = r.crypt {
            o.var(c.bits);
            o.var(c.extra as u64);
            o.var(ie as u64);
        }
        if let Some(c) = &r.channel {
            o.str(c);
        }
        if let Some(f) = r.freq_khz {
            o.var(f as u64);
        }
        if let Some(s) = r.signal {
            o.zig(s as i64);
        }
        if let Some(f) = r.fix {
            o.f64(f.lat);
            o.f64(f.lon);
            if let Some(a) = f.alt {
                o.f64(a);
            }
            if let Some(s) = f.speed {
                o.f64(s);
            }
        }
        if !r.tags.is_empty() {
            o.var(r.tags.len() as u64);
            for (k, v) in &r.tags {
                o.str(k);
                o.str(v);
            }
        }
    }
    o.0
}

pub fn decode_batch(bytes: &[u8]) -> R<Batch> {
    let mut i = In::new(bytes, "journal");
    i.version()?;
    let now = i.u32()?;
    let source = i.uuid()?;
    let name = i.str()?;
    let rejected = i.u32()?;
    let n = i.var()? as usize;
    let mut reports = Vec::with_capacity(n.min(bytes.len()));
    for _ in 0..n {
        let flags = i.var()?;
        let on = |f: u64| flags & f != 0;
        let mac = i.mac()?;
        let time = u32::try_from(now as i64 + i.zig()?).map_err(|_| i.err("time"))?;
        let ssid = on(has::SSID).then(|| i.str()).transpose()?;
        let crypt = if on(has::CRYPT) {
            let bits = i.var()?;
            let extra = u16::try_from(i.var()?).map_err(|_| i.err("crypt"))?;
            Some((Crypt { bits, extra }, i.u32()?))
        } else {
            None
        };
        let channel = on(has::CHANNEL).then(|| i.str()).transpose()?;
        let freq_khz = on(has::FREQ).then(|| i.u32()).transpose()?;
        let signal = on(has::SIGNAL).then(|| i.i16()).transpose()?;
        let fix = if on(has::FIX) {
            let lat = i.f64()?;
            let lon = i.f64()?;
            let alt = on(has::ALT).then(|| i.f64()).transpose()?;
            let speed = on(has::SPEED).then(|| i.f64()).transpose()?;
            Some(Fix {
                lat,
                lon,
                alt,
                speed,
            })
        } else {
            None
        };
        let mut tags = Vec::new();
        if on(has::TAGS) {
            for _ in 0..i.var()? {
                tags.push((i.str()?, i.str()?));
            }
        }
        reports.push(Report {
            mac,
            time,
            ssid,
            crypt,
            channel,
            freq_khz,
            signal,
            fix,
            tags,
        });
    }
    i.end()?;
    Ok(Batch {
        now,
        source,
        name,
        rejected,
        reports,
    })
}

fn point(o: &mut Out, p: &Point) {
    o.f64(p.lat);
    o.f64(p.lon);
    o.f64(p.alt);
    o.u8(p.fix);
    o.var(p.time as u64);
}

fn get_point(i: &mut In<'_>) -> R<Point> {
    Ok(Point {
        lat: i.f64()?,
        lon: i.f64()?,
        alt: i.f64()?,
        fix: i.u8()?,
        time: i.u32()?,
    })
}

/// A device's checkpoint record. `channel` names an interned channel; `source_number` maps
/// a datasource index to its stable number. What frames taught (counts, SSID channels and
/// intervals, seen-by signals, relations) follows the version 1 record as an optional
/// section, so version 1 records still load.
pub fn encode_device(
    d: &Device,
    channel: impl Fn(u32) -> Box<str>,
    source_number: impl Fn(u32) -> u32,
) -> Vec<u8> {
    use super::device::flag;
    let mut o = Out(Vec::with_capacity(96));
    o.u8(VERSION);
    o.var(d.seq);
    o.var(d.first as u64);
    o.var(d.last as u64);
    o.var(d.modified as u64);
    o.var(d.packets as u64);
    o.str(&channel(d.channel));
    o.var(d.freq as u64);
    for s in d.signal {
        o.zig(s as i64);
    }
    o.u8(d.flags & flag::PERSISTED);
    o.u8(d.last_ssid);
    o.var(d.freqs.len() as u64);
    for &(f, c) in d.freqs.iter() {
        o.var(f as u64);
        o.var(c as u64);
    }
    o.var(d.ssids.len() as u64);
    for s in d.ssids.iter() {
        o.str(&s.ssid);
        o.var(s.crypt.bits);
        o.var(s.crypt.extra as u64);
        o.var(s.first as u64);
        o.var(s.last as u64);
        o.var(s.ietag as u64);
    }
    o.var(d.seen.len() as u64);
    for s in d.seen.iter() {
        o.var(source_number(s.source) as u64);
        o.var(s.count as u64);
        o.var(s.first as u64);
        o.var(s.last as u64);
    }
    match &d.loc {
        None => o.u8(0),
        Some(l) => {
            o.u8(1);
            point(&mut o, &l.last);
            o.f64(l.last_speed);
            o.f64(l.sum_lat);
            o.f64(l.sum_lon);
            o.f64(l.sum_alt);
            o.var(l.n as u64);
            o.var(l.n_alt as u64);
            for v in l.min.iter().chain(l.max.iter()) {
                o.f64(*v);
            }
            match &l.peak {
                None => o.u8(0),
                Some((p, s)) => {
                    o.u8(1);
                    point(&mut o, p);
                    o.zig(*s as i64);
                }
            }
        }
    }
    let tags = d.tags.as_deref().map_or(&[][..], |t| &t[..]);
    o.var(tags.len() as u64);
    for (k, v) in tags {
        o.str(k);
        o.str(v);
    }
    let frames = d.rx | d.data | d.crypt | d.errors != 0
        || d.datasize != 0
        || d.roles != 0
        || d.dot11.is_some()
        || d.seen.iter().any(|s| s.has_signal)
        || d.ssids
            .iter()
            .any(|s| s.channel | s.interval | s.kinds as u16 != 0);
    if frames {
        o.u8(1);
        for v in [d.rx, d.data, d.crypt, d.errors] {
            o.var(v as u64);
        }
        o.var(d.datasize);
        o.u8(d.roles);
        for s in d.ssids.iter() {
            o.var(s.channel as u64);
            o.var(s.interval as u64);
            o.u8(s.kinds);
        }
        for s in d.seen.iter() {
            o.u8(s.has_signal as u8);
            for v in s.signal {
                o.zig(v as i64);
            }
        }
        match d.dot11.as_deref() {
            None => o.u8(0),
            Some(x) => {
                o.u8(1);
                o.var(x.probed.len() as u64);
                for p in &x.probed {
                    o.str(&p.ssid);
                    o.var(p.first as u64);
                    o.var(p.last as u64);
                    o.var(p.count as u64);
                }
                o.var(x.aps.len() as u64);
                for a in &x.aps {
                    o.mac(a.bssid);
                    o.var(a.first as u64);
                    o.var(a.last as u64);
                    o.u8(a.link);
                }
                o.var(x.clients.len() as u64);
                for &c in &x.clients {
                    o.mac(c);
                }
                o.mac(x.last_bssid);
                o.var(x.wds.len() as u64);
                for &w in &x.wds {
                    o.mac(w);
                }
            }
        }
    }
    o.0
}

/// A decoded device record: the device (channel 0, seen-by sources as numbers) and its
/// channel name, for the caller to intern and map.
pub struct DecodedDevice {
    pub device: Device,
    pub channel: Box<str>,
}

/// Decodes a device record.
pub fn decode_device(mac: u64, bytes: &[u8]) -> R<DecodedDevice> {
    let mut i = In::new(bytes, "device");
    i.version()?;
    let mut d = Device::new(mac);
    d.seq = i.var()?;
    d.first = i.u32()?;
    d.last = i.u32()?;
    d.modified = i.u32()?;
    d.packets = i.u32()?;
    let channel = i.str()?;
    d.freq = i.u32()?;
    for s in d.signal.iter_mut() {
        *s = i.i16()?;
    }
    d.flags = i.u8()?;
    d.last_ssid = i.u8()?;
    let n = i.var()? as usize;
    let mut freqs = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        freqs.push((i.u32()?, i.u32()?));
    }
    d.freqs = freqs.into_boxed_slice();
    let n = i.var()? as usize;
    let mut ssids = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let ssid = i.str()?;
        let bits = i.var()?;
        let extra = u16::try_from(i.var()?).map_err(|_| i.err("crypt"))?;
        ssids.push(SsidRec {
            ssid,
            crypt: Crypt { bits, extra },
            first: i.u32()?,
            last: i.u32()?,
            ietag: i.u32()?,
            channel: 0,
            interval: 0,
            kinds: 0,
        });
    }
    d.ssids = ssids.into_boxed_slice();
    if d.last_ssid as usize >= d.ssids.len() && d.last_ssid != super::device::NO_SSID {
        return Err(i.err("SSID index"));
    }
    let n = i.var()? as usize;
    let mut seen = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        seen.push(SeenBy {
            source: i.u32()?,
            count: i.u32()?,
            first: i.u32()?,
            last: i.u32()?,
            signal: [0; 3],
            has_signal: false,
        });
    }
    d.seen = seen.into_boxed_slice();
    if i.u8()? == 1 {
        let mut l = Location {
            last: get_point(&mut i)?,
            last_speed: i.f64()?,
            sum_lat: i.f64()?,
            sum_lon: i.f64()?,
            sum_alt: i.f64()?,
            n: i.u32()?,
            n_alt: i.u32()?,
            ..Location::default()
        };
        for v in l.min.iter_mut().chain(l.max.iter_mut()) {
            *v = i.f64()?;
        }
        if i.u8()? == 1 {
            let p = get_point(&mut i)?;
            l.peak = Some((p, i.i16()?));
        }
        d.loc = Some(Box::new(l));
    }
    let n = i.var()? as usize;
    if n > 0 {
        let mut tags = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            tags.push((i.str()?, i.str()?));
        }
        d.tags = Some(Box::new(tags));
    }
    if !i.b.is_empty() {
        if i.u8()? != 1 {
            return Err(i.err("frames section"));
        }
        d.rx = i.u32()?;
        d.data = i.u32()?;
        d.crypt = i.u32()?;
        d.errors = i.u32()?;
        d.datasize = i.var()?;
        d.roles = i.u8()?;
        for s in d.ssids.iter_mut() {
            s.channel = u16::try_from(i.var()?).map_err(|_| i.err("channel"))?;
            s.interval = u16::try_from(i.var()?).map_err(|_| i.err("beacon interval"))?;
            s.kinds = i.u8()?;
        }
        for s in d.seen.iter_mut() {
            s.has_signal = i.u8()? == 1;
            for v in s.signal.iter_mut() {
                *v = i8::try_from(i.zig()?).map_err(|_| i.err("signal"))?;
            }
        }
        if i.u8()? == 1 {
            let mut x = super::device::Dot11::default();
            let n = i.var()? as usize;
            for _ in 0..n.min(1 << 16) {
                x.probed.push(super::device::Probed {
                    ssid: i.str()?,
                    first: i.u32()?,
                    last: i.u32()?,
                    count: i.u32()?,
                });
            }
            let n = i.var()? as usize;
            for _ in 0..n.min(1 << 16) {
                x.aps.push(super::device::Assoc {
                    bssid: i.mac()?,
                    first: i.u32()?,
                    last: i.u32()?,
                    link: i.u8()?,
                });
            }
            let n = i.var()? as usize;
            for _ in 0..n.min(1 << 20) {
                x.clients.push(i.mac()?);
            }
            x.last_bssid = i.mac()?;
            let n = i.var()? as usize;
            for _ in 0..n.min(1 << 16) {
                x.wds.push(i.mac()?);
            }
            d.dot11 = Some(Box::new(x));
        }
    }
    i.end()?;
    Ok(DecodedDevice { device: d, channel })
}

pub fn encode_source(s: &Source) -> Vec<u8> {
    let mut o = Out::default();
    o.u8(VERSION);
    o.0.extend_from_slice(&s.uuid);
    o.var(s.number as u64);
    o.str(&s.name);
    o.var(s.packets);
    o.var(s.errors);
    o.var(s.first as u64);
    o.var(s.last as u64);
    o.var(s.seq);
    if s.capture {
        o.u8(1);
    }
    o.0
}

pub fn decode_source(bytes: &[u8]) -> R<Source> {
    let mut i = In::new(bytes, "datasource");
    i.version()?;
    let uuid = i.uuid()?;
    let number = i.u32()?;
    let mut s = Source::new(uuid, number);
    s.name = i.str()?;
    s.packets = i.var()?;
    s.errors = i.var()?;
    s.first = i.u32()?;
    s.last = i.u32()?;
    s.seq = i.var()?;
    if !i.b.is_empty() {
        s.capture = i.u8()? == 1;
    }
    i.end()?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::crypt;

    fn sample() -> Batch {
        Batch {
            now: 1_700_000_000,
            source: [7; 16],
            name: "phone é".into(),
            rejected: 2,
            reports: vec![
                Report {
                    mac: 0xAABB_CC00_0001,
                    time: 1_699_999_000,
                    ssid: Some("Net\u{1}".into()),
                    crypt: Some((crypt::parse("[WPA2-PSK-CCMP][ESS][MFPC]"), 99)),
                    channel: Some("6".into()),
                    freq_khz: Some(2_437_000),
                    signal: Some(-45),
                    fix: Some(Fix {
                        lat: 52.52,
                        lon: -13.405,
                        alt: Some(-3.5),
                        speed: Some(1.25),
                    }),
                    tags: vec![("k".into(), "v".into()), ("x".into(), "".into())],
                },
                Report {
                    mac: 0x0000_0000_0002,
                    time: 1_700_000_100,
                    ssid: None,
                    crypt: None,
                    channel: None,
                    freq_khz: None,
                    signal: None,
                    fix: Some(Fix {
                        lat: 1.0,
                        lon: 2.0,
                        alt: None,
                        speed: None,
                    }),
                    tags: Vec::new(),
                },
            ],
        }
    }

    #[test]
    fn batch_round_trips() {
        let b = sample();
        let bytes = encode_batch(&b);
        assert_eq!(decode_batch(&bytes).unwrap(), b);
        assert!(decode_batch(&bytes[..bytes.len() - 1]).is_err());
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode_batch(&extra).is_err());
        let mut v = bytes;
        v[0] = 9;
        assert!(decode_batch(&v).is_err());
    }

    #[test]
    fn device_and_source_round_trip() {
        let b = sample();
        let mut d = Device::new(b.reports[0].mac);
        for r in b.reports.iter().chain(b.reports.iter()) {
            d.apply(r, 3, 0, b.now);
        }
        d.seq = 42;
        let v1 = encode_device(&d, |_| "6".into(), |i| i + 1);
        // What frames teach: counts, seen-by signal, an SSID's channel, relations.
        let mut e = dataplane::track::Entry::new(0x0011_2233_4455, 60);
        (e.tx, e.rx, e.data, e.crypt, e.errors, e.datasize) = (5, 2, 3, 1, 1, 900);
        e.signal(-40);
        e.signal(-60);
        e.bssid = 0x00AA_BBCC_DDEE;
        e.link = dataplane::track::table::link::TO_DS;
        d.apply_delta(&e, 3, 1, 61);
        d.add_client(0x0066_7788_99AA);
        d.add_wds(0x0066_7788_99BB);
        d.ssids[0].channel = 11;
        d.ssids[0].interval = 100;
        let bytes = encode_device(&d, |_| "6".into(), |i| i + 1);
        assert!(bytes.len() > v1.len());
        for (bytes, frames) in [(&v1, false), (&bytes, true)] {
            let dec = decode_device(d.mac, bytes).unwrap();
            assert_eq!(&*dec.channel, "6");
            let mut back = dec.device;
            back.channel = 3;
            for s in back.seen.iter_mut() {
                s.source -= 1;
            }
            if frames {
                assert_eq!(back, d);
                assert_eq!(back.dot11().unwrap().clients, [0x0066_7788_99AA]);
                assert_eq!(back.seen[1].signal, [-60, -60, -40]);
            } else {
                assert_eq!(back.rx, 0, "a version 1 record has no frames section");
            }
            assert!(decode_device(d.mac, &bytes[..bytes.len() - 2]).is_err());
        }

        let mut s = Source::new([3; 16], 4);
        s.apply("n", 5, 1, 77);
        s.seq = 9;
        assert_eq!(decode_source(&encode_source(&s)).unwrap(), s);
        s.capture = true;
        assert_eq!(decode_source(&encode_source(&s)).unwrap(), s);
    }
}
