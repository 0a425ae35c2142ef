//! The system calls behind the kernel filter: loading the BPF object (through the vendored
//! libbpf that `afxdp` is built on), map writes, the memory-mapped config, attaching to a
//! socket, and `BPF_PROG_TEST_RUN`.
//!
//! Memory shared with the kernel beyond one call is only the config page ([`ConfigPage`]),
//! which the program reads while user space writes it: it is written with volatile stores
//! and an atomic sequence word, never through a Rust reference. Every other pointer passed
//! is to a local value or slice that outlives the call, with its true size. Descriptors are
//! wrapped in `OwnedFd` at once.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, Ordering};

use libbpf_sys as sys;

use super::layout::Config;
use crate::source::afxdp::errors::{from_neg_errno, from_syscall_ret};

/// The objects build.rs compiles.
#[derive(Clone, Copy, Debug)]
pub enum Object {
    /// bpf/kfilter.bpf.c: the socket filters and the maps.
    Socket,
    /// bpf/kfilter.bpf.c: the XDP programs and an XSKMAP (creating one takes CAP_NET_ADMIN).
    Xdp,
    /// bpf/xsk_select.bpf.c: the AF_XDP program that takes only selected UDP datagrams.
    Select,
}

impl Object {
    fn bytes(self) -> &'static [u8] {
        match self {
            Object::Socket => include_bytes!(concat!(env!("OUT_DIR"), "/kfilter_sock.bpf.o")),
            Object::Xdp => include_bytes!(concat!(env!("OUT_DIR"), "/kfilter_xdp.bpf.o")),
            Object::Select => include_bytes!(concat!(env!("OUT_DIR"), "/xsk_select.bpf.o")),
        }
    }
}

/// A loaded copy of the object: its maps and programs by name, as descriptors of our own
/// (the libbpf object is closed once they are duplicated).
pub struct Loaded {
    pub maps: Vec<(String, OwnedFd)>,
    pub programs: Vec<(String, OwnedFd)>,
}

impl Loaded {
    pub fn map(&self, name: &str) -> io::Result<BorrowedFd<'_>> {
        find(&self.maps, name, "map")
    }

    pub fn program(&self, name: &str) -> io::Result<BorrowedFd<'_>> {
        find(&self.programs, name, "program")
    }
}

fn find<'a>(list: &'a [(String, OwnedFd)], name: &str, what: &str) -> io::Result<BorrowedFd<'a>> {
    list.iter()
        .find(|(n, _)| n == name)
        .map(|(_, fd)| fd.as_fd())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("the BPF object has no {what} {name}"),
            )
        })
}

/// Closes a libbpf object on every path.
struct Opened(NonNull<sys::bpf_object>);

impl Drop for Opened {
    fn drop(&mut self) {
        // SAFETY: the pointer came from bpf_object__open_mem, is closed only here, once, and
        // nothing borrowed from it outlives this value (descriptors were duplicated).
        unsafe { sys::bpf_object__close(self.0.as_ptr()) }
    }
}

/// Duplicates a descriptor the libbpf object owns, so that it outlives the object.
fn dup(fd: i32, what: &str) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(from_neg_errno(fd, what));
    }
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a descriptor the object holds open; it reads no
    // memory.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Opens and loads the object. Each `(name, fd)` of `reuse` makes the object use that
/// existing map instead of creating its own: XDP programs of several interfaces share the
/// filter's maps but each has its own XSKMAP. Each `(name, entries)` of `sizes` creates that
/// map with room for `entries` instead of what the object declares.
pub fn load(
    object: Object,
    maps: &[&str],
    programs: &[&str],
    reuse: &[(&str, BorrowedFd<'_>)],
    sizes: &[(&str, u32)],
) -> io::Result<Loaded> {
    let name = CString::new("airsift_kfilter").expect("no NUL");
    let opts = sys::bpf_object_open_opts {
        sz: std::mem::size_of::<sys::bpf_object_open_opts>() as sys::size_t,
        object_name: name.as_ptr(),
        ..Default::default()
    };
    let elf = object.bytes();
    // SAFETY: `elf` is a static byte slice of its true length; `opts` and the name it points
    // to outlive the call; libbpf copies what it keeps.
    let raw =
        unsafe { sys::bpf_object__open_mem(elf.as_ptr().cast(), elf.len() as sys::size_t, &opts) };
    // SAFETY: libbpf_get_error only inspects the pointer value (NULL or an error pointer).
    let err = unsafe { sys::libbpf_get_error(raw.cast()) };
    let object = match NonNull::new(raw) {
        Some(p) if err == 0 => Opened(p),
        _ => {
            return Err(from_neg_errno(
                if err != 0 { err as i32 } else { -libc::EINVAL },
                "opening an embedded BPF object",
            ))
        }
    };
    for (map, fd) in reuse {
        let m = find_map(&object, map)?;
        // SAFETY: `m` belongs to the open object; libbpf duplicates `fd`, which is open for
        // the duration of the call.
        let ret = unsafe { sys::bpf_map__reuse_fd(m, fd.as_raw_fd()) };
        if ret != 0 {
            return Err(from_neg_errno(ret, &format!("sharing the map {map}")));
        }
    }
    for (map, entries) in sizes {
        let m = find_map(&object, map)?;
        // SAFETY: `m` belongs to the open object, which is not loaded yet (when libbpf lets
        // a map's size change).
        let ret = unsafe { sys::bpf_map__set_max_entries(m, *entries) };
        if ret != 0 {
            return Err(from_neg_errno(ret, &format!("sizing the map {map}")));
        }
    }
    // SAFETY: the object is open and not yet loaded.
    let ret = unsafe { sys::bpf_object__load(object.0.as_ptr()) };
    if ret != 0 {
        return Err(from_neg_errno(
            ret,
            "loading BPF programs (the kernel's verifier log is on standard error)",
        ));
    }
    let mut loaded = Loaded {
        maps: Vec::new(),
        programs: Vec::new(),
    };
    for map in maps {
        let c = CString::new(*map).expect("no NUL in a map name");
        // SAFETY: the object is loaded; the name outlives the call.
        let fd = unsafe { sys::bpf_object__find_map_fd_by_name(object.0.as_ptr(), c.as_ptr()) };
        loaded
            .maps
            .push((map.to_string(), dup(fd, &format!("finding the map {map}"))?));
    }
    for prog in programs {
        let c = CString::new(*prog).expect("no NUL in a program name");
        // SAFETY: the object is loaded; the name outlives the call.
        let p = unsafe { sys::bpf_object__find_program_by_name(object.0.as_ptr(), c.as_ptr()) };
        if p.is_null() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("the BPF object has no program {prog}"),
            ));
        }
        // SAFETY: `p` belongs to the loaded object.
        let fd = unsafe { sys::bpf_program__fd(p) };
        loaded.programs.push((
            prog.to_string(),
            dup(fd, &format!("finding the program {prog}"))?,
        ));
    }
    Ok(loaded)
}

/// The open object's map called `name`.
fn find_map(object: &Opened, name: &str) -> io::Result<*mut sys::bpf_map> {
    let c = CString::new(name).expect("no NUL in a map name");
    // SAFETY: the object is open; the name outlives the call.
    let m = unsafe { sys::bpf_object__find_map_by_name(object.0.as_ptr(), c.as_ptr()) };
    if m.is_null() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the BPF object has no map {name}"),
        ));
    }
    Ok(m)
}

/// Sets `map[key] = value` (any flag: insert or replace).
pub fn update(map: BorrowedFd<'_>, key: &u64, value: &[u8; 2]) -> io::Result<()> {
    // SAFETY: key and value are live values of the sizes the term maps were created with
    // (u64 keys, 2-byte values); the kernel reads them during the call only.
    let ret = unsafe {
        sys::bpf_map_update_elem(
            map.as_raw_fd(),
            (key as *const u64).cast(),
            value.as_ptr().cast(),
            sys::BPF_ANY as u64,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(from_syscall_ret(ret, "writing a kernel filter term"))
    }
}

/// Sets `map[index] = value` in an array of bytes (the selector's port array).
pub fn set_byte(map: BorrowedFd<'_>, index: u32, value: u8) -> io::Result<()> {
    // SAFETY: key and value are live values of the sizes the array was created with (u32
    // keys, 1-byte values); the kernel reads them during the call only.
    let ret = unsafe {
        sys::bpf_map_update_elem(
            map.as_raw_fd(),
            (&index as *const u32).cast(),
            (&value as *const u8).cast(),
            sys::BPF_ANY as u64,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(from_syscall_ret(ret, "writing a BPF array entry"))
    }
}

/// Deletes `map[key]`; a key already absent is not an error.
pub fn delete(map: BorrowedFd<'_>, key: &u64) -> io::Result<()> {
    // SAFETY: the key is a live u64, the term maps' key size; read during the call only.
    let ret = unsafe { sys::bpf_map_delete_elem(map.as_raw_fd(), (key as *const u64).cast()) };
    if ret == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if ret == -1 && e.raw_os_error() == Some(libc::ENOENT) {
        return Ok(());
    }
    Err(from_syscall_ret(ret, "deleting a kernel filter term"))
}

/// Every key of a term map (u64 keys), read with `BPF_MAP_GET_NEXT_KEY`; stops at the first
/// error.
pub fn keys(map: BorrowedFd<'_>) -> Vec<u64> {
    let mut out = Vec::new();
    let mut key = 0u64;
    let mut first = true;
    loop {
        let mut next = 0u64;
        let prev: *const u64 = if first { std::ptr::null() } else { &key };
        // SAFETY: `prev` is NULL (start) or a live u64; `next` is a live u64 the kernel
        // writes; both are the map's key size.
        let ret = unsafe {
            sys::bpf_map_get_next_key(map.as_raw_fd(), prev.cast(), (&mut next as *mut u64).cast())
        };
        if ret != 0 {
            return out;
        }
        out.push(next);
        key = next;
        first = false;
    }
}

/// Number of possible CPUs: the length of a per-CPU map's value.
pub fn possible_cpus() -> io::Result<usize> {
    // SAFETY: reads /sys/devices/system/cpu/possible; no pointers.
    let n = unsafe { sys::libbpf_num_possible_cpus() };
    if n <= 0 {
        return Err(from_neg_errno(n, "counting the possible CPUs"));
    }
    Ok(n as usize)
}

/// Sum over CPUs of the per-CPU u64 at `index` of a per-CPU array.
pub fn percpu_sum(map: BorrowedFd<'_>, index: u32, cpus: usize) -> io::Result<u64> {
    let mut values = vec![0u64; cpus];
    // SAFETY: `values` holds one u64 per possible CPU, the size the kernel writes for a
    // per-CPU array of u64; it outlives the call.
    let ret = unsafe {
        sys::bpf_map_lookup_elem(
            map.as_raw_fd(),
            (&index as *const u32).cast(),
            values.as_mut_ptr().cast(),
        )
    };
    if ret != 0 {
        return Err(from_syscall_ret(ret, "reading per-CPU BPF counters"));
    }
    Ok(values.iter().fold(0u64, |a, v| a.wrapping_add(*v)))
}

/// Attaches a socket-filter program to a socket (`SO_ATTACH_BPF`): the program then judges
/// every frame before it is queued to the socket.
pub fn attach_socket(socket: BorrowedFd<'_>, program: BorrowedFd<'_>) -> io::Result<()> {
    let fd: i32 = program.as_raw_fd();
    // SAFETY: the option value is a live i32 of the size passed; read during the call only.
    let ret = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_BPF,
            (&fd as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Runs `program` once on `data` in the kernel (`BPF_PROG_TEST_RUN`) and returns its return
/// value.
pub fn test_run(program: BorrowedFd<'_>, data: &[u8]) -> io::Result<u32> {
    test_run_repeat(program, data, 1).map(|(r, _)| r)
}

/// [`test_run`] `repeat` times in the kernel: the return value and the mean run time in ns.
pub fn test_run_repeat(
    program: BorrowedFd<'_>,
    data: &[u8],
    repeat: i32,
) -> io::Result<(u32, u32)> {
    let mut input = data.to_vec();
    let mut retval = 0u32;
    let mut duration = 0u32;
    // SAFETY: `input` is a live buffer of the length passed (the kernel copies it in and, for
    // some program types, writes nothing back without data_out); data_out and size_out are
    // NULL, which the kernel accepts; retval and duration are live u32s.
    let ret = unsafe {
        sys::bpf_prog_test_run(
            program.as_raw_fd(),
            repeat,
            input.as_mut_ptr().cast(),
            input.len() as u32,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut retval,
            &mut duration,
        )
    };
    if ret != 0 {
        return Err(from_syscall_ret(
            ret,
            "running the kernel filter program on a test frame",
        ));
    }
    Ok((retval, duration))
}

/// The program's config value, mapped into this process (`BPF_F_MMAPABLE`): user space writes
/// it in place while the program reads it.
pub struct ConfigPage {
    ptr: NonNull<Config>,
    len: usize,
}

// SAFETY: the page is only written through `&mut self` methods, so one thread at a time; the
// mapping itself is not tied to a thread.
unsafe impl Send for ConfigPage {}
// SAFETY: shared references only read (volatile), which is what the kernel does concurrently
// anyway.
unsafe impl Sync for ConfigPage {}

impl ConfigPage {
    /// Maps the first (only) value of the array `map`.
    pub fn map(map: BorrowedFd<'_>) -> io::Result<ConfigPage> {
        // SAFETY: sysconf reads no memory.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
        let len = std::mem::size_of::<Config>().div_ceil(page) * page;
        // SAFETY: a new shared mapping of an mmapable array map's first `len` bytes (the
        // kernel requires whole pages and gives zeroed values); no existing memory is touched.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                map.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<Config>()).ok_or_else(io::Error::last_os_error)?;
        Ok(ConfigPage { ptr, len })
    }

    fn seq(&self) -> &AtomicU32 {
        // SAFETY: `seq` is the first field, a 4-byte-aligned u32 inside the live mapping;
        // AtomicU32 has u32's layout, and every access to it from this side is atomic.
        unsafe { &*std::ptr::addr_of_mut!((*self.ptr.as_ptr()).seq).cast::<AtomicU32>() }
    }

    /// Marks a change as begun: the program passes up every frame it judges from now until
    /// [`ConfigPage::end`], and every frame whose judgement overlapped either.
    pub fn begin(&mut self) -> u32 {
        let s = self.seq().load(Ordering::Relaxed);
        let odd = s | 1;
        self.seq().store(odd, Ordering::Relaxed);
        // Order the odd sequence before every later write, map writes (system calls)
        // included.
        fence(Ordering::SeqCst);
        odd
    }

    /// Writes everything but the sequence word. Only between begin and end.
    pub fn write(&mut self, c: &Config) {
        let p = self.ptr.as_ptr();
        // SAFETY: `p` points into the live mapping; each field is written with a volatile
        // store of its own type at its own aligned address, never through a reference, so the
        // concurrent reads of the program are not undefined behaviour on this side.
        unsafe {
            std::ptr::addr_of_mut!((*p).usable).write_volatile(c.usable);
            std::ptr::addr_of_mut!((*p).default_block).write_volatile(c.default_block);
            std::ptr::addr_of_mut!((*p).blocks).write_volatile(c.blocks);
            std::ptr::addr_of_mut!((*p).exact_blocks).write_volatile(c.exact_blocks);
            std::ptr::addr_of_mut!((*p).nmask).write_volatile(c.nmask);
            std::ptr::addr_of_mut!((*p).weak_order).write_volatile(c.weak_order);
            std::ptr::addr_of_mut!((*p).ones).write_volatile(c.ones);
            std::ptr::addr_of_mut!((*p).generation).write_volatile(c.generation);
            std::ptr::addr_of_mut!((*p).mask).write_volatile(c.mask);
            std::ptr::addr_of_mut!((*p).mask_blocks).write_volatile(c.mask_blocks);
        }
    }

    /// Ends the change begun with `odd`: frames judged from now on see all of it.
    pub fn end(&mut self, odd: u32) {
        self.seq().store(odd.wrapping_add(1), Ordering::Release);
    }

    /// The current value, read volatile.
    pub fn read(&self) -> Config {
        // SAFETY: the mapping is live and holds a Config; a volatile read of the whole value
        // races only with the program's reads.
        unsafe { self.ptr.as_ptr().read_volatile() }
    }
}

impl Drop for ConfigPage {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `map` made; nothing borrows it past `self`.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}
