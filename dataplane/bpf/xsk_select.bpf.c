// SPDX-License-Identifier: (MIT OR Apache-2.0)
//
// airsift's AF_XDP program for an interface the host also uses (an Ethernet NIC carrying
// remote sensors' feeds): it takes only the UDP datagrams sent to the selected ports and
// passes everything else to the kernel's stack, so the host's own traffic keeps working.
//
// A selected datagram's payload is one captured frame of the source's link type (radiotap
// unless configured otherwise): the program strips the Ethernet, VLAN, IP and UDP headers
// (bpf_xdp_adjust_head) and redirects what is left to the queue's socket in xsks_map, so the
// ring holds the frame itself, as a monitor interface would give it.
//
// Passed to the stack, not taken: anything not UDP to a selected port; IPv4 fragments (only
// the stack can reassemble them); IPv6 with extension headers before UDP; frames on a queue
// no airsift socket serves. Counted per CPU: taken, passed.

#include <linux/bpf.h>
#include <linux/types.h>

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *)BPF_FUNC_redirect_map;
static long (*bpf_xdp_adjust_head)(struct xdp_md *xdp, int delta) = (void *)BPF_FUNC_xdp_adjust_head;
static long (*bpf_xdp_adjust_tail)(struct xdp_md *xdp, int delta) = (void *)BPF_FUNC_xdp_adjust_tail;

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IPPROTO_UDP 17
#define UDP_HLEN 8
#define IPV6_HLEN 40

/* Keep in step with dataplane/src/source/afxdp/select.rs. */
#define COUNT_TAKEN 0
#define COUNT_PASSED 1

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

/* Nonzero at index PORT: datagrams to UDP port PORT are taken. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} udp_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} select_counters SEC(".maps");

static __attribute__((always_inline)) int count(__u32 which, int verdict)
{
	__u64 *c = bpf_map_lookup_elem(&select_counters, &which);
	if (c)
		*c += 1;
	return verdict;
}

static __attribute__((always_inline)) __u16 be16(const __u8 *p)
{
	return (__u16)p[0] << 8 | p[1];
}

/* The length of the headers in front of a selected datagram's payload, or 0 when the frame
 * is not one (it goes to the stack); *extra: bytes after the datagram (Ethernet padding). */
static __attribute__((always_inline)) __u32 selected(struct xdp_md *ctx, __u32 *extra)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	__u32 off = ETH_HLEN;
	if (data + ETH_HLEN > end)
		return 0;
	__u16 proto = be16(data + 12);
	/* Up to two VLAN tags (802.1ad outer, 802.1Q inner). */
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		if (data + off + 4 > end)
			return 0;
		proto = be16(data + off + 2);
		off += 4;
	}
	const __u8 *udp;
	if (proto == ETH_P_IP) {
		const __u8 *ip = data + off;
		if (ip + 20 > end)
			return 0;
		__u32 ihl = (ip[0] & 0x0F) * 4;
		if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != IPPROTO_UDP)
			return 0;
		/* A fragment (offset or more-fragments set): the stack reassembles. */
		if (be16(ip + 6) & 0x3FFF)
			return 0;
		off += ihl;
	} else if (proto == ETH_P_IPV6) {
		const __u8 *ip = data + off;
		if (ip + IPV6_HLEN > end)
			return 0;
		if ((ip[0] >> 4) != 6 || ip[6] != IPPROTO_UDP)
			return 0;
		off += IPV6_HLEN;
	} else {
		return 0;
	}
	/* off is at most 14 + 8 + 60: bounded for the verifier. */
	if (off > ETH_HLEN + 8 + 60)
		return 0;
	udp = data + off;
	if (udp + UDP_HLEN > end)
		return 0;
	__u32 port = be16(udp + 2);
	__u8 *on = bpf_map_lookup_elem(&udp_ports, &port);
	if (!on || !*on)
		return 0;
	/* The datagram's own length: shorter than the frame leaves padding to trim; longer (a
	 * truncated frame) goes to the stack. */
	__u32 len = be16(udp + 4);
	__u32 avail = (__u32)(end - udp);
	if (len < UDP_HLEN || len > avail)
		return 0;
	*extra = avail - len;
	return off + UDP_HLEN;
}

SEC("xdp")
int airsift_xsk(struct xdp_md *ctx)
{
	__u32 queue = ctx->rx_queue_index;
	__u32 extra = 0;
	__u32 hdr = selected(ctx, &extra);
	/* Only strip the headers of a frame a socket will take. */
	if (!hdr || !bpf_map_lookup_elem(&xsks_map, &queue))
		return count(COUNT_PASSED, XDP_PASS);
	if (extra && bpf_xdp_adjust_tail(ctx, -(int)extra))
		return count(COUNT_PASSED, XDP_PASS);
	if (bpf_xdp_adjust_head(ctx, (int)hdr))
		return count(COUNT_PASSED, XDP_PASS);
	count(COUNT_TAKEN, 0);
	/* The slot was filled a moment ago; should it empty meanwhile, the frame is dropped (its
	 * headers are gone, the stack could not use it). */
	return bpf_redirect_map(&xsks_map, queue, XDP_DROP);
}

char _license[] SEC("license") = "Dual MIT/GPL";
