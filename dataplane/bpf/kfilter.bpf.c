// SPDX-License-Identifier: (MIT OR Apache-2.0)
//
// airsift's MAC filter in the kernel: the decision of FilterTable::decide (API.md section 2)
// over BPF maps that user space keeps equal to the compiled table (dataplane/src/kfilter).
//
// Built twice (build.rs): the socket filters, and with AIRSIFT_XDP the XDP programs and
// their XSKMAP, which reuse the first build's maps when loaded. The entry points:
// - airsift_sock (SO_ATTACH_BPF on a TPACKET_V3 socket): returns 0 for a blocked frame, so it
//   never enters the ring, and the frame's length otherwise;
// - airsift_xsk (XDP, the program of AF_XDP sources): drops a blocked frame and redirects the
//   rest to the queue's socket in xsks_map (or passes it to the stack when no socket serves
//   the queue).
// The _wl variants read plain 802.11 frames; the others radiotap.
//
// User space stays authoritative: this program only ever drops a frame that user space would
// block. Whatever it cannot judge exactly it passes up, where it is judged again (and counted
// as malformed if it is): a header it does not parse, a radiotap vendor namespace, a table the
// maps cannot express, or a decision that overlapped a change (a sequence lock, below).

#include <linux/bpf.h>
#include <linux/types.h>

#define SEC(name) __attribute__((section(name), used))
#undef __always_inline
#define __always_inline inline __attribute__((always_inline))
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value,
                                   __u64 flags) = (void *)BPF_FUNC_map_update_elem;
static long (*bpf_skb_load_bytes)(const void *skb, __u32 off, void *to,
                                  __u32 len) = (void *)BPF_FUNC_skb_load_bytes;
static long (*bpf_xdp_load_bytes)(struct xdp_md *xdp, __u32 off, void *buf,
                                  __u32 len) = (void *)BPF_FUNC_xdp_load_bytes;

#define barrier() asm volatile("" ::: "memory")
/* Makes the compiler keep a bounds check on `v` where the verifier sees it. */
#define barrier_var(v) asm volatile("" : "+r"(v))
#define READ_ONCE(x) (*(volatile typeof(x) *)&(x))

/* Keep in step with dataplane/src/kfilter/layout.rs. */
#define MASK_SLOTS 8
#define ANY_BIT (1 << 4)
#define ROLE_SOURCE (1 << 0)
#define ROLE_DESTINATION (1 << 1)
#define ROLE_NETWORK (1 << 2)
#define ROLE_OTHER (1 << 3)

/* What one address value (under one mask) means in each block: FilterTable's Entry. */
struct entry {
	__u8 present;
	__u8 blocks;
};

/* The table's shape, in a memory-mapped array that user space writes directly.
 * seq is a sequence lock: odd while a change is being written. */
struct config {
	__u32 seq;
	/* 0: the maps do not hold the table (none yet, or more masks than slots): pass all up. */
	__u8 usable;
	/* The default action: 1 blocks. */
	__u8 default_block;
	/* Union of every group's blocks; 0 when the table has no terms. */
	__u8 blocks;
	/* Blocks of the exact group (mask all ones). */
	__u8 exact_blocks;
	/* Masked groups in use, in precedence order in slots 0..nmask-1. */
	__u8 nmask;
	/* Nonzero on CPUs that may reorder loads: read seq with a full barrier. */
	__u8 weak_order;
	__u8 pad[2];
	/* All ones, written by user space. Values and'ed with it are unknown to the verifier, so
	 * the radiotap walk's offsets do not multiply the paths it explores (see radiotap()). */
	__u32 ones;
	__u64 generation;
	__u64 mask[MASK_SLOTS];
	__u8 mask_blocks[MASK_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct config);
} config SEC(".maps");

/* A hash map's bucket array is allocated at creation for max_entries (16 bytes a bucket), even
 * without preallocated elements, and every lookup touches one random bucket: capacities are
 * what real tables need (a small array stays in cache), not the most a table could hold. A
 * table past them fails to sync and the program passes everything up (the status says why). */
#define TERM_MAP(name, entries)                                \
	struct {                                               \
		__uint(type, BPF_MAP_TYPE_HASH);               \
		__uint(max_entries, entries);                  \
		__uint(map_flags, BPF_F_NO_PREALLOC);          \
		__type(key, __u64);                            \
		__type(value, struct entry);                   \
	} name SEC(".maps")

TERM_MAP(exact, 1 << 16);
TERM_MAP(mask0, 1 << 12);
TERM_MAP(mask1, 1 << 12);
TERM_MAP(mask2, 1 << 12);
TERM_MAP(mask3, 1 << 12);
TERM_MAP(mask4, 1 << 12);
TERM_MAP(mask5, 1 << 12);
TERM_MAP(mask6, 1 << 12);
TERM_MAP(mask7, 1 << 12);

/* Per-CPU counters; keep in step with layout.rs. */
enum counter {
	C_SEEN,
	C_DROPPED,
	C_UNPARSED,
	C_UNUSABLE,
	C_RACED,
	C_COUNT,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, C_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

#ifdef AIRSIFT_XDP
static __u64 (*bpf_xdp_get_buff_len)(struct xdp_md *xdp) = (void *)BPF_FUNC_xdp_get_buff_len;
static long (*bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *)BPF_FUNC_redirect_map;

/* Only in the XDP build: creating an XSKMAP takes CAP_NET_ADMIN, which socket filters do not
 * need. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 256);
	/* Sizes, not BTF types: the kernel takes no BTF for an XSKMAP. */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} xsks_map SEC(".maps");
#endif

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);
	if (c)
		*c += 1;
}

/* Verdicts of judge(). */
#define V_PASS 0
#define V_BLOCK 1
/* Passed up unjudged (user space decides): */
#define V_UP 2       /* a header this program does not read exactly as user space does */
#define V_UNUSABLE 3 /* the maps do not hold the table */
#define V_RACED 4    /* the decision overlapped a change */

/* Radiotap (dataplane/src/wire/radiotap.rs). */
#define RT_EXT (1u << 31)
#define RT_VENDOR_NEXT (1u << 30)
#define RT_RADIOTAP_NEXT (1u << 29)
#define RT_FIELD_BITS (RT_RADIOTAP_NEXT - 1)
#define RT_MAX_WORDS 4
#define RT_KNOWN_FIELDS 28
#define RT_FLAGS_FCS_AT_END 0x10
/* Bytes read from the front of every frame in one load (a power of two). */
#define FRONT 64

/* Sizes (4 bits each; fields 0-15, then 16-27) and log2 of the alignments (2 bits each) of
 * radiotap namespace fields 0-27 (radiotap.rs FIELDS). Looked up by shifting, without a
 * branch: a switch would give the verifier a path per field. */
#define RT_SIZES_LO 0x2211112221124118ULL
#define RT_SIZES_HI 0x416cccc83811ULL
#define RT_ALIGNS_LOG2 0x45762050054143ULL

static __always_inline __u32 rt_size(__u32 index)
{
	if (index < 16)
		return (RT_SIZES_LO >> (index * 4)) & 0xf;
	return (RT_SIZES_HI >> ((index - 16) * 4)) & 0xf;
}

static __always_inline __u32 rt_align(__u32 index)
{
	return 1u << ((RT_ALIGNS_LOG2 >> (index * 2)) & 3);
}

/* A frame's bytes, read through the program type's helper. */
struct pkt {
	void *ctx;
	__u32 len;
	int xdp;
};

static __always_inline int load(struct pkt *p, __u32 off, void *to, __u32 len)
{
	if (p->xdp)
		return bpf_xdp_load_bytes(p->ctx, off, to, len);
	return bpf_skb_load_bytes(p->ctx, off, to, len);
}

/* A presence chain, as the layout cache keys it (words past nwords are zero). */
struct rt_key {
	__u32 words[RT_MAX_WORDS];
	__u32 nwords;
};

/* What the field walk makes of a chain: where the last located field ends (the header must
 * hold it: fields are laid out in increasing offsets, so no field overruns exactly when this
 * one does not) and where the first Flags field is. */
struct rt_layout {
	__u32 end;
	__u16 flags_at;
	__u8 have_flags;
	__u8 pad;
};

/* Layouts seen: a driver writes the same chain on every frame, so the walk runs once per
 * chain, not once per frame (user space's LayoutMemo does the same). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct rt_key);
	__type(value, struct rt_layout);
} rt_layouts SEC(".maps");

/* The last chain this CPU saw and its layout: a driver repeats its chain on every frame, so
 * most frames are answered by comparing five words, before any hash lookup. `seq` is odd
 * while the entry is written; a program that a nested one interrupted sees it moved and
 * falls back to the cache. */
struct rt_memo {
	__u32 seq;
	struct rt_key key;
	struct rt_layout lay;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rt_memo);
} rt_memo SEC(".maps");

/* The field walk of radiotap.rs over a presence chain: -1 for a vendor namespace (and the
 * invalid both-bits case), which this program passes up. */
static __always_inline int rt_walk(const struct config *c, const struct rt_key *k,
                                   struct rt_layout *out)
{
	/* offset, base and flags_at pass through c->ones at every step: as constants, every
	 * combination of present bits would be a path of its own to the verifier. */
	__u32 offset = (4 + 4 * k->nwords) & c->ones;
	__u32 nwords = k->nwords & c->ones;
	__u32 base = 0;
	__u32 flags_at = 0;
	int have_flags = 0;
	for (int i = 0; i < RT_MAX_WORDS; i++) {
		if (i >= nwords)
			break;
		__u32 w = k->words[i];
		__u32 bits = w & RT_FIELD_BITS;
		for (int b = 0; b < 29; b++) {
			if (!(bits & (1u << b)))
				continue;
			__u32 index = (base + b) & c->ones;
			if (index >= RT_KNOWN_FIELDS)
				goto walked;
			__u32 align = rt_align(index);
			__u32 start_f = (offset + align - 1) & ~(align - 1);
			offset = (start_f + rt_size(index)) & c->ones;
			if (index == 1 && !have_flags) {
				have_flags = 1;
				flags_at = start_f & c->ones;
			}
		}
		if (!(w & RT_EXT))
			break;
		if (w & RT_VENDOR_NEXT)
			return -1;
		if (w & RT_RADIOTAP_NEXT)
			base = 0;
		else
			base = (base + 32) & c->ones;
	}
walked:
	out->end = offset;
	out->flags_at = flags_at & 0xffff;
	out->have_flags = have_flags;
	out->pad = 0;
	return 0;
}

/* Where the 802.11 frame starts and how long it is (FCS excluded); -1 when the radiotap
 * header is not one this program can read exactly as user space does. */
static __always_inline int radiotap(struct pkt *p, const struct config *c, const __u8 *head,
                                    __u32 *start, __u32 *dot11_len)
{
	/* head: the frame's first FRONT bytes (zeros past its end). */
	if (p->len < 8)
		return -1;
	if (head[0] != 0)
		return -1;
	__u32 rlen = head[2] | ((__u32)head[3] << 8);
	if (rlen < 8 || rlen > p->len)
		return -1;

	struct rt_key key = {};
	for (int i = 0; i < RT_MAX_WORDS; i++) {
		if (8 + 4 * i > rlen)
			return -1; /* the chain runs past the header: malformed */
		__u32 w = head[4 + 4 * i] | ((__u32)head[5 + 4 * i] << 8) |
		          ((__u32)head[6 + 4 * i] << 16) | ((__u32)head[7 + 4 * i] << 24);
		key.words[i] = w;
		key.nwords = i + 1;
		if (!(w & RT_EXT))
			break;
		if (i == RT_MAX_WORDS - 1)
			return -1;
	}

	__u32 zero = 0;
	struct rt_memo *m = bpf_map_lookup_elem(&rt_memo, &zero);
	struct rt_layout got;
	int known = 0;
	if (m) {
		__u32 s1 = READ_ONCE(m->seq);
		barrier();
		struct rt_key mk = m->key;
		got = m->lay;
		barrier();
		known = !(s1 & 1) && READ_ONCE(m->seq) == s1 && mk.nwords == key.nwords &&
		        mk.words[0] == key.words[0] && mk.words[1] == key.words[1] &&
		        mk.words[2] == key.words[2] && mk.words[3] == key.words[3];
	}
	if (!known) {
		struct rt_layout *cached = bpf_map_lookup_elem(&rt_layouts, &key);
		if (cached) {
			got = *cached;
		} else {
			/* A chain this program passes up is remembered as one no header can hold. */
			if (rt_walk(c, &key, &got))
				got = (struct rt_layout){.end = 0xffffffff};
			bpf_map_update_elem(&rt_layouts, &key, &got, BPF_ANY);
		}
		if (m) {
			m->seq += 1;
			barrier();
			m->key = key;
			m->lay = got;
			barrier();
			m->seq += 1;
		}
	}
	if (got.end > rlen)
		return -1; /* a field runs past the header: malformed */
	__u32 len = p->len - rlen;
	if (got.have_flags) {
		__u8 flags;
		__u32 at = got.flags_at;
		if (at < FRONT)
			flags = head[at & (FRONT - 1)];
		else if (load(p, at, &flags, 1))
			return -1;
		if (flags & RT_FLAGS_FCS_AT_END) {
			if (len < 4)
				return -1;
			len -= 4;
		}
	}
	*start = rlen;
	*dot11_len = len;
	return 0;
}

static __always_inline __u64 mac6(const __u8 *m)
{
	return ((__u64)m[0] << 40) | ((__u64)m[1] << 32) | ((__u64)m[2] << 24) |
	       ((__u64)m[3] << 16) | ((__u64)m[4] << 8) | (__u64)m[5];
}

/* An address field (1-4) of the 802.11 header in hdr as FilterTable keys it: the six bytes
 * big-endian in the low 48 bits. Constant offsets per field: the verifier tracks stack
 * pointers only through constant arithmetic. */
static __always_inline __u64 mac_at(const __u8 *hdr, __u32 field)
{
	switch (field) {
	case 1: return mac6(hdr + 4);
	case 2: return mac6(hdr + 10);
	case 3: return mac6(hdr + 16);
	default: return mac6(hdr + 24);
	}
}

#define MAX2(a, b) ((a) > (b) ? (a) : (b))
/* Bytes a frame must hold for address field f (and every lower one): A4 follows sequence
 * control. */
#define NEED(f) ((f) == 0 ? 2 : (f) == 4 ? 30 : 4 + 6 * (f))
/* Source, destination, network and other as address field numbers (0 for none), and in bits
 * 16 and up the bytes the frame must hold for all of them (ieee80211.rs layout()). */
#define LAYOUT(s, d, n, o) \
	((NEED(MAX2(MAX2(s, d), MAX2(n, o))) << 16) | ((s) << 12) | ((d) << 8) | ((n) << 4) | (o))

/* API.md's role table (ieee80211.rs Header::layout_for) as LAYOUT values; -1 for the reserved
 * control subtypes, whose layout depends on a length this program may see differently
 * (snapshot lengths). */
static __always_inline int layout_for(__u8 fc0, __u8 fc1)
{
	__u8 subtype = fc0 >> 4;
	switch ((fc0 >> 2) & 3) {
	case 0:
		return LAYOUT(2, 1, 3, 0);
	case 2:
		switch (fc1 & 3) {
		case 0: return LAYOUT(2, 1, 3, 0);
		case 2: return LAYOUT(3, 1, 2, 0);
		case 1: return LAYOUT(2, 3, 1, 0);
		default: return LAYOUT(4, 3, 0, 2);
		}
	case 1:
		switch (subtype) {
		case 12: case 13: case 7:
			return LAYOUT(0, 1, 0, 0);
		case 10:
			return LAYOUT(2, 0, 1, 0);
		case 2: case 3: case 4: case 5: case 8: case 9: case 11: case 14: case 15:
			return LAYOUT(2, 1, 0, 0);
		}
		return -1;
	default:
		if (subtype == 0 || subtype == 1)
			return LAYOUT(1, 0, 1, 0);
		return LAYOUT(0, 0, 0, 0);
	}
}

/* One group's probe inside airsift_probe: a hit in the role's own block answers; the first hit
 * in `any` is kept and `any` is no longer wanted. */
#define PROBE(map, maskv, gblocks)                                                   \
	if ((gblocks) & want) {                                                      \
		__u64 key = addr & (maskv);                                          \
		struct entry *e = bpf_map_lookup_elem(&map, &key);                   \
		if (e) {                                                             \
			__u8 hit = e->present & want;                                \
			if (hit & own)                                               \
				return (((e->blocks & own) ? V_BLOCK : V_PASS) + 1) | \
				       (any << 4);                                   \
			if (hit & ANY_BIT) {                                         \
				any = ((e->blocks & ANY_BIT) ? V_BLOCK : V_PASS) + 1; \
				want &= ~ANY_BIT;                                    \
				if (!want)                                           \
					return any << 4;                             \
			}                                                            \
		}                                                                    \
	}

#define PROBE_SLOT(i, map)                                          \
	if ((i) < nmask) {                                          \
		PROBE(map, c->mask[i], c->mask_blocks[i]);          \
	}

/* FilterTable::probe for one address: the groups in precedence order, for the blocks in
 * `want` (the role's own bit `own`, and ANY_BIT until an earlier role found an `any` hit).
 * Returns the role block's verdict + 1 in bits 0-3 (0: no hit) and the first `any` verdict
 * + 1 in bits 4-7. A global function: the verifier checks it once, on its own, instead of
 * once per role and per path that reaches it. */
__attribute__((noinline)) int airsift_probe(__u64 addr, __u32 own, __u32 want)
{
	__u32 zero = 0;
	const struct config *c = bpf_map_lookup_elem(&config, &zero);
	if (!c)
		return 0;
	__u8 nmask = c->nmask;
	int any = 0;
	own &= 0xff;
	want &= 0xff;
	PROBE(exact, 0xffffffffffffULL, c->exact_blocks);
	PROBE_SLOT(0, mask0);
	PROBE_SLOT(1, mask1);
	PROBE_SLOT(2, mask2);
	PROBE_SLOT(3, mask3);
	PROBE_SLOT(4, mask4);
	PROBE_SLOT(5, mask5);
	PROBE_SLOT(6, mask6);
	PROBE_SLOT(7, mask7);
	return any << 4;
}

/* An address in the low 48 bits, and whether the frame has it in bit 48. */
#define HAVE_ADDR (1ULL << 48)

/* One role of FilterTable::decide: returns the verdict when the role's block decides, else
 * -1, recording the first `any` hit (verdict + 1) in *any. */
static __always_inline int role_probe(const struct config *c, __u64 a, __u32 own, int *any)
{
	if (!(a & HAVE_ADDR))
		return -1;
	__u32 want = c->blocks & (*any ? own : (own | ANY_BIT));
	if (!want)
		return -1;
	int r = airsift_probe(a & 0xffffffffffffULL, own, want);
	if (r & 0xf)
		return (r & 0xf) - 1;
	if (!*any && (r >> 4))
		*any = (r >> 4) & 0xf;
	return -1;
}

/* FilterTable::decide: role blocks in order, then `any`, then the default. */
static __always_inline int decide(const struct config *c, __u64 s, __u64 d, __u64 n, __u64 o)
{
	if (!c->blocks)
		return c->default_block ? V_BLOCK : V_PASS;
	int any = 0;
	int r;
	r = role_probe(c, s, ROLE_SOURCE, &any);
	if (r >= 0)
		return r;
	r = role_probe(c, d, ROLE_DESTINATION, &any);
	if (r >= 0)
		return r;
	r = role_probe(c, n, ROLE_NETWORK, &any);
	if (r >= 0)
		return r;
	r = role_probe(c, o, ROLE_OTHER, &any);
	if (r >= 0)
		return r;
	if (any)
		return any - 1;
	return c->default_block ? V_BLOCK : V_PASS;
}

/* The address of field `field` (0: none) as role_probe takes it. */
static __always_inline __u64 role(const __u8 *hdr, __u32 field)
{
	return field ? (HAVE_ADDR | mac_at(hdr, field)) : 0;
}

/* Reads the sequence lock: plain loads where the CPU keeps loads in order (x86), a full
 * barrier where it may not. */
static __always_inline __u32 read_seq(struct config *c)
{
	if (c->weak_order)
		return __sync_fetch_and_add(&c->seq, 0);
	return READ_ONCE(c->seq);
}

/* The whole judgement of one frame whose 802.11 header starts at `start` and is `len` bytes
 * long (FCS excluded). */
static __always_inline int judge_dot11(struct pkt *p, struct config *c, const __u8 *front,
                                       __u32 start, __u32 len)
{
	/* The header up to the fourth address: from the front bytes when it lies in them,
	 * else in one load of its own. */
	__u8 own[32] = {};
	const __u8 *hdr = own;
	if (len < 2)
		return V_UP;
	__u32 off = start;
	barrier_var(off);
	if (off <= FRONT - 30) {
		hdr = front + off;
	} else {
		__u32 n = len < 30 ? len : 30;
		barrier_var(n);
		if (n < 2 || n > 30 || load(p, start & 0xffff, own, n))
			return V_UP;
	}
	if (hdr[0] & 3)
		return V_UP; /* protocol version: user space counts it malformed */
	int lay = layout_for(hdr[0], hdr[1]);
	if (lay < 0)
		return V_UP;
	if (len < (__u32)(lay >> 16))
		return V_UP;

	__u32 s1 = read_seq(c);
	if (s1 & 1)
		return V_RACED;
	barrier();
	if (!READ_ONCE(c->usable))
		return V_UNUSABLE;
	int v = decide(c, role(hdr, (lay >> 12) & 0xf), role(hdr, (lay >> 8) & 0xf),
	               role(hdr, (lay >> 4) & 0xf), role(hdr, lay & 0xf));
	barrier();
	if (read_seq(c) != s1)
		return V_RACED;
	return v;
}

/* Radiotap (1) or plain 802.11 (0) framing: user space picks the entry point by the source's
 * link type (KernelPrograms::socket_program, xdp_program). */
static __always_inline int judge(struct pkt *p, int radiotap_framing)
{
	__u32 zero = 0;
	struct config *c = bpf_map_lookup_elem(&config, &zero);
	if (!c)
		return V_UP;
	/* The capture header, the presence chain, Flags and (usually) the 802.11 header, in one
	 * load; zeros past the frame's end. */
	__u8 front[FRONT] = {};
	__u32 n = p->len < FRONT ? p->len : FRONT;
	barrier_var(n);
	if (n < 2 || n > FRONT || load(p, 0, front, n))
		return V_UP;
	__u32 start = 0, len = p->len;
	if (radiotap_framing && radiotap(p, c, front, &start, &len))
		return V_UP;
	return judge_dot11(p, c, front, start, len);
}

/* Counts the frame and its outcome; true when it is to be dropped. */
static __always_inline int blocked(int v)
{
	count(C_SEEN);
	switch (v) {
	case V_BLOCK:
		count(C_DROPPED);
		return 1;
	case V_UP:
		count(C_UNPARSED);
		break;
	case V_UNUSABLE:
		count(C_UNUSABLE);
		break;
	case V_RACED:
		count(C_RACED);
		break;
	}
	return 0;
}

#ifndef AIRSIFT_XDP
static __always_inline int sock(struct __sk_buff *skb, int radiotap_framing)
{
	struct pkt p = {.ctx = skb, .len = skb->len, .xdp = 0};
	return blocked(judge(&p, radiotap_framing)) ? 0 : skb->len;
}

/* Socket filters return how many bytes to keep: 0 keeps nothing. */
SEC("socket")
int airsift_sock(struct __sk_buff *skb)
{
	return sock(skb, 1);
}

SEC("socket")
int airsift_sock_wl(struct __sk_buff *skb)
{
	return sock(skb, 0);
}

#else
static __always_inline int xsk(struct xdp_md *ctx, int radiotap_framing)
{
	struct pkt p = {.ctx = ctx, .len = bpf_xdp_get_buff_len(ctx), .xdp = 1};
	if (blocked(judge(&p, radiotap_framing)))
		return XDP_DROP;
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

/* Named like the plain redirect program (source/afxdp/program.rs), whose leftover handling
 * recognises it by name and by its xsks_map. */
SEC("xdp")
int airsift_xsk(struct xdp_md *ctx)
{
	return xsk(ctx, 1);
}

SEC("xdp")
int airsift_xsk_wl(struct xdp_md *ctx)
{
	return xsk(ctx, 0);
}

#endif

char _license[] SEC("license") = "Dual MIT/GPL";
