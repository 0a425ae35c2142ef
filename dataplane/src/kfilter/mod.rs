//! The MAC filter in the kernel: BPF programs (bpf/kfilter.bpf.c, built by clang) that decide
//! each frame exactly as [`FilterTable::decide`] does, over BPF maps that mirror the compiled
//! table, so that blocked frames are dropped before they are copied into a ring.
//!
//! - On TPACKET_V3 sockets, a socket filter ([`KernelPrograms::attach_socket`]): a blocked frame
//!   never enters the ring.
//! - On AF_XDP sources, the XDP program ([`KernelPrograms::xdp_program`]): a blocked frame is
//!   dropped, the rest redirected to the queue's socket.
//!
//! User space stays authoritative and judges every frame it receives again. The program only
//! drops what user space would block: a frame whose headers it does not read exactly as
//! `wire` does (a radiotap vendor namespace, a reserved control subtype, anything malformed)
//! goes up unjudged, as does everything while the maps cannot hold the table (more than
//! [`MASK_SLOTS`] masks) and any frame whose decision overlapped a change.
//!
//! Changes: [`KernelFilter::sync`] writes only the map keys that differ between the table the
//! maps hold and the new one, inside a sequence lock in the memory-mapped config: the program
//! reads the sequence before and after deciding and passes the frame up when it was odd or
//! moved, so no frame is judged against half a change.

mod layout;
pub(crate) mod sys;

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError};

use crate::filter::{FilterTable, TableMirror};

pub use layout::{Capacity, Config, Counter, MASK_SLOTS};
use layout::{Placement, TermMap, COUNTERS};

/// The term maps in [`TermMap`] order.
const TERM_MAPS: [&str; 1 + MASK_SLOTS] = [
    "exact", "mask0", "mask1", "mask2", "mask3", "mask4", "mask5", "mask6", "mask7",
];

/// The maps every copy of the programs shares: the term maps, the config and the counters.
fn shared_maps() -> impl Iterator<Item = &'static str> {
    TERM_MAPS.into_iter().chain(["config", "counters"])
}
const SOCKET_RADIOTAP: &str = "airsift_sock";
const SOCKET_80211: &str = "airsift_sock_wl";
const XDP_RADIOTAP: &str = "airsift_xsk";
const XDP_80211: &str = "airsift_xsk_wl";
const SOCKET_PROGRAMS: [&str; 2] = [SOCKET_RADIOTAP, SOCKET_80211];

/// pcap link types the programs read.
const DLT_IEEE802_11: u32 = 105;
const DLT_RADIOTAP: u32 = 127;

/// Totals of the program's per-CPU counters since the filter was loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCounters {
    pub seen: u64,
    pub dropped: u64,
    pub unparsed: u64,
    pub unusable: u64,
    pub raced: u64,
}

/// What the maps hold, for status pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelState {
    /// Generation of the table the maps hold (0: none yet).
    pub generation: u64,
    /// Whether the program judges frames; false while the table does not fit the maps.
    pub usable: bool,
    /// Why not, when not.
    pub reason: Option<String>,
}

/// What one [`KernelFilter::sync`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Map keys written or deleted.
    pub writes: usize,
    pub usable: bool,
}

impl std::fmt::Debug for KernelPrograms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelPrograms")
            .field("programs", &self.loaded.programs.len())
            .field("maps", &self.loaded.maps.len())
            .finish()
    }
}

/// The loaded programs and maps: what attaching, counting and test runs need, shareable
/// between threads while [`KernelFilter::sync`] writes the maps.
pub struct KernelPrograms {
    loaded: sys::Loaded,
    cpus: usize,
}

/// The kernel filter: its programs and maps, and the writer of the maps. One per process:
/// every socket and XDP program shares the maps.
pub struct KernelFilter {
    programs: Arc<KernelPrograms>,
    config: sys::ConfigPage,
    /// The table the term maps hold (an empty one before the first sync).
    mirrored: Arc<FilterTable>,
    capacity: Capacity,
    reason: Option<String>,
}

impl KernelFilter {
    /// Loads the programs and creates the maps, with room for `capacity` entries, which hold
    /// no table yet: until the first [`KernelFilter::sync`] the programs pass every frame up.
    /// A map cannot grow once created, so the caller sizes them for the filter it runs
    /// ([`Capacity::for_table`]).
    pub fn load(capacity: Capacity) -> io::Result<KernelFilter> {
        if capacity.exact.max(capacity.masked) > Capacity::MAX
            || capacity.exact.min(capacity.masked) == 0
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "kernel filter maps of {} and {} entries: each must be 1 to {}",
                    capacity.exact,
                    capacity.masked,
                    Capacity::MAX
                ),
            ));
        }
        let maps: Vec<&str> = shared_maps().collect();
        let sizes: Vec<(&str, u32)> = TERM_MAPS
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                (
                    m,
                    if i == 0 {
                        capacity.exact
                    } else {
                        capacity.masked
                    },
                )
            })
            .collect();
        let loaded = sys::load(sys::Object::Socket, &maps, &SOCKET_PROGRAMS, &[], &sizes)?;
        let mut config = sys::ConfigPage::map(loaded.map("config")?)?;
        let cpus = sys::possible_cpus()?;
        let odd = config.begin();
        config.write(&Config::unusable());
        config.end(odd);
        Ok(KernelFilter {
            programs: Arc::new(KernelPrograms { loaded, cpus }),
            config,
            mirrored: Arc::new(FilterTable::pass_all()),
            capacity,
            reason: Some("no filter table yet".to_string()),
        })
    }

    /// The programs, for attaching, counters and test runs from other threads.
    pub fn programs(&self) -> &Arc<KernelPrograms> {
        &self.programs
    }

    fn term_map(&self, m: TermMap) -> BorrowedFd<'_> {
        let i = match m {
            TermMap::Exact => 0,
            TermMap::Slot(s) => 1 + s as usize,
        };
        self.programs
            .loaded
            .map(TERM_MAPS[i])
            .expect("every term map is loaded")
    }

    /// Makes the maps hold `table`, writing only the keys that differ from the table they
    /// hold (found through the parts the two tables share, so a change costs what it
    /// touched). A table the maps cannot hold (more masks than [`MASK_SLOTS`], or more terms
    /// than their capacity) leaves the maps as they are and switches the programs to passing
    /// everything up.
    pub fn sync(&mut self, table: &Arc<FilterTable>) -> io::Result<SyncReport> {
        let new = Placement::of(table);
        let odd = self.config.begin();
        // Whatever happens, the config written says what the maps can be trusted with.
        let misfit = new.misfit(self.capacity);
        let result = match misfit {
            None => self.write_terms(&new),
            Some(_) => Ok(0),
        };
        match &result {
            Ok(_) if misfit.is_none() => {
                self.mirrored = Arc::clone(table);
                self.reason = None;
            }
            Ok(_) => self.reason = misfit,
            Err(e) => {
                // Half-written maps: unusable until a sync succeeds, which rewrites them
                // from an empty image.
                self.mirrored = Arc::new(FilterTable::pass_all());
                self.clear_terms();
                self.reason = Some(format!("writing the kernel maps failed: {e}"));
            }
        }
        let shape = match result {
            Ok(_) => new.config(table, self.capacity),
            Err(_) => Config::unusable(),
        };
        self.config.write(&shape);
        self.config.end(odd);
        result.map(|writes| SyncReport {
            writes,
            usable: shape.usable != 0,
        })
    }

    fn write_terms(&self, new: &Placement<'_>) -> io::Result<usize> {
        let old = Placement::of(&self.mirrored);
        let w = layout::writes(&old, new);
        for (m, k) in &w.deletes {
            sys::delete(self.term_map(*m), k)?;
        }
        for (m, k, v) in &w.upserts {
            sys::update(self.term_map(*m), k, v)?;
        }
        Ok(w.len())
    }

    /// Empties every term map (after a failed write), best effort.
    fn clear_terms(&self) {
        for name in TERM_MAPS {
            if let Ok(fd) = self.programs.loaded.map(name) {
                for key in sys::keys(fd) {
                    let _ = sys::delete(fd, &key);
                }
            }
        }
    }

    /// How many entries the term maps were created for.
    pub fn capacity(&self) -> Capacity {
        self.capacity
    }

    /// What the maps hold.
    pub fn state(&self) -> KernelState {
        let c = self.config.read();
        KernelState {
            generation: self.mirrored.generation(),
            usable: c.usable != 0,
            reason: self.reason.clone(),
        }
    }
}

impl KernelPrograms {
    /// The kernel's ids of the socket-filter and XDP programs loaded with the maps (the copy
    /// attached to each AF_XDP interface has an id of its own: `AfXdpSource::program_id`).
    pub fn program_ids(&self) -> Vec<u32> {
        self.loaded
            .programs
            .iter()
            .filter_map(|(_, fd)| crate::source::afxdp::bpf::prog_info(fd).ok())
            .map(|i| i.id)
            .collect()
    }

    /// The program's counters, summed over CPUs.
    pub fn counters(&self) -> io::Result<KernelCounters> {
        let map = self.loaded.map("counters")?;
        let mut v = [0u64; COUNTERS];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = sys::percpu_sum(map, i as u32, self.cpus)?;
        }
        Ok(KernelCounters {
            seen: v[Counter::Seen as usize],
            dropped: v[Counter::Dropped as usize],
            unparsed: v[Counter::Unparsed as usize],
            unusable: v[Counter::Unusable as usize],
            raced: v[Counter::Raced as usize],
        })
    }

    /// The socket-filter program for frames of pcap link type `linktype`, if there is one
    /// (radiotap and plain 802.11).
    pub fn socket_program(&self, linktype: u32) -> Option<BorrowedFd<'_>> {
        let name = match linktype {
            DLT_RADIOTAP => SOCKET_RADIOTAP,
            DLT_IEEE802_11 => SOCKET_80211,
            _ => return None,
        };
        self.loaded.program(name).ok()
    }

    /// Attaches the socket filter for `linktype` to `socket`. Err(Unsupported) for a link
    /// type the programs do not read.
    pub fn attach_socket(&self, socket: BorrowedFd<'_>, linktype: u32) -> io::Result<()> {
        let prog = self
            .socket_program(linktype)
            .ok_or_else(|| unsupported(linktype))?;
        sys::attach_socket(socket, prog)
    }

    /// A copy of the XDP program for `linktype` with its own XSKMAP (named `xsks_map`) and
    /// this filter's maps, for one interface: sockets of several interfaces cannot share one
    /// XSKMAP (its keys are queue numbers).
    pub fn xdp_program(&self, linktype: u32) -> io::Result<XdpFilterProgram> {
        let name = match linktype {
            DLT_RADIOTAP => XDP_RADIOTAP,
            DLT_IEEE802_11 => XDP_80211,
            _ => return Err(unsupported(linktype)),
        };
        let reuse: Vec<(&str, BorrowedFd<'_>)> = shared_maps()
            .map(|m| Ok((m, self.loaded.map(m)?)))
            .collect::<io::Result<_>>()?;
        let mut loaded = sys::load(sys::Object::Xdp, &["xsks_map"], &[name], &reuse, &[])?;
        let (_, program) = loaded.programs.pop().expect("one program asked for");
        let (_, xsks_map) = loaded.maps.pop().expect("one map asked for");
        Ok(XdpFilterProgram { program, xsks_map })
    }

    /// Runs the socket filter for `linktype` on `frame` in the kernel (`BPF_PROG_TEST_RUN`):
    /// true when it drops the frame. The kernel runs socket-filter tests on an Ethernet
    /// frame whose 14-byte header it pulls first, so the frame goes in behind 14 bytes.
    pub fn test_socket(&self, linktype: u32, frame: &[u8]) -> io::Result<bool> {
        Ok(self.run_socket(linktype, frame, 1)?.0 == 0)
    }

    /// The socket filter's mean run time on `frame` over `repeat` runs in the kernel, in ns
    /// (`BPF_PROG_TEST_RUN`), for benchmarks.
    pub fn time_socket(&self, linktype: u32, frame: &[u8], repeat: i32) -> io::Result<u32> {
        Ok(self.run_socket(linktype, frame, repeat)?.1)
    }

    /// The socket filter run `repeat` times on `frame` behind the 14 bytes the kernel pulls:
    /// its return value and mean run time.
    fn run_socket(&self, linktype: u32, frame: &[u8], repeat: i32) -> io::Result<(u32, u32)> {
        let prog = self
            .socket_program(linktype)
            .ok_or_else(|| unsupported(linktype))?;
        let mut data = vec![0u8; 14];
        data.extend_from_slice(frame);
        sys::test_run_repeat(prog, &data, repeat)
    }

    /// Runs the XDP program for `linktype` on `frame` in the kernel: true when it drops it
    /// (`XDP_DROP`); otherwise it redirects or, with no socket in its map, passes.
    pub fn test_xdp(&self, program: &XdpFilterProgram, frame: &[u8]) -> io::Result<bool> {
        const XDP_DROP: u32 = 1;
        Ok(sys::test_run(program.program.as_fd(), frame)? == XDP_DROP)
    }
}

fn unsupported(linktype: u32) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "the kernel filter reads radiotap (127) and 802.11 (105) frames, not link type \
             {linktype}"
        ),
    )
}

/// One interface's copy of the XDP program, sharing the filter's maps.
pub struct XdpFilterProgram {
    pub program: OwnedFd,
    /// queue index → AF_XDP socket.
    pub xsks_map: OwnedFd,
}

/// A [`KernelFilter`] following a [`FilterHandle`](crate::filter::FilterHandle): every
/// published table is written to the maps. Errors are kept for the status, not returned:
/// the workers already run the new table, and a failed write leaves the program passing
/// everything up (see [`KernelFilter::sync`]).
pub struct KernelMirror {
    filter: Mutex<KernelFilter>,
    programs: Arc<KernelPrograms>,
}

impl KernelMirror {
    pub fn new(filter: KernelFilter) -> KernelMirror {
        KernelMirror {
            programs: Arc::clone(filter.programs()),
            filter: Mutex::new(filter),
        }
    }

    pub fn programs(&self) -> &Arc<KernelPrograms> {
        &self.programs
    }

    pub fn state(&self) -> KernelState {
        self.filter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .state()
    }
}

impl std::fmt::Debug for KernelMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelMirror")
            .field("state", &self.state())
            .finish()
    }
}

impl TableMirror for KernelMirror {
    fn mirror(&self, table: &Arc<FilterTable>) -> usize {
        let mut f = self.filter.lock().unwrap_or_else(PoisonError::into_inner);
        // The error is in the state's reason; the program passes everything up meanwhile.
        f.sync(table).map_or(0, |r| r.writes)
    }
}

/// Whether a BPF program with this id is still loaded (anywhere in the system).
pub fn program_loaded(id: u32) -> bool {
    crate::source::afxdp::bpf::prog_fd_by_id(id).is_ok()
}
