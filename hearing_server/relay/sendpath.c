/* The relay's send path for one frame and one subscriber, in C.
 *
 * Per packet the relay writes a 12-byte RTP header and the connection's header
 * extension block in front of a payload the producer cut once for every
 * subscriber, SRTP-protects it with the connection's libsrtp session (pylibsrtp's
 * own copy, reached through the function pointer it exports), and writes the
 * frame's packets to the connection's UDP socket in one system call: one
 * UDP_SEGMENT (GSO) send when the packets are of one size (all but the last),
 * else one sendmmsg. Python keeps everything else (routes, history, counters).
 *
 * Built by sendpath_build.py (cffi, API mode) into hearing_server.relay._sendpath.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define HS_MAX_PACKETS 64
#define HS_HEADER_MAX 256
/* an RTP packet, the SRTP tag and an MKI at most (SRTP_MAX_TRAILER_LEN is 144) */
#define HS_SLOT (1500 + 144)

typedef int (*hs_protect_t)(void *ctx, void *rtp, int *len);

/* The last HS_HISTORY packets a route sent through hs_fanout, before protection, by
 * sequence number modulo HS_HISTORY (aiortc's RTP_HISTORY_SIZE, a divisor of 2^16):
 * what a NACK asks for again. */
#define HS_HISTORY 128
/* frames.DELAY_BUCKETS_MS has 17 edges: 18 buckets */
#define HS_DELAY_BUCKETS 18
typedef struct {
    uint16_t seq[HS_HISTORY];
    uint16_t len[HS_HISTORY];   /* 0: empty */
    uint8_t packet[HS_HISTORY][1500];
} hs_history;

typedef struct {
    void *srtp;             /* the connection's srtp_t */
    uintptr_t protect;      /* srtp_protect of the libsrtp that made srtp */
    int fd;                 /* the connection's socket (a duplicate the relay owns) */
    int gso;                /* 1: try UDP_SEGMENT; cleared when the kernel refuses it */
    int addrlen;
    struct sockaddr_storage addr;
    int header_len;         /* 12 + the extension block */
    int abs_at;             /* where abs-send-time's 3 bytes are, or -1 */
    uint8_t header[HS_HEADER_MAX];
    /* -- a fan-out member's own state (hs_fanout), loaded from and given back to
     *    Python when the route joins and leaves its producer's fan-out -- */
    uint16_t seq;           /* the next sequence number */
    uint32_t origin;        /* the sender's random timestamp origin */
    int64_t offset;         /* the producer's timestamp + offset: this subscriber's */
    int64_t last_out;       /* the last timestamp sent (before the origin) */
    int vp8;                /* VP8: picture ids continue across a change of publisher */
    int pid_offset;         /* ... shifted by this (0: the producer's own) */
    int last_pid;
    uint32_t packets;       /* counted since Python last took them (hs_take) */
    uint64_t octets;
    uint32_t rtp;           /* the last timestamp sent, and its NTP time (sender reports) */
    uint64_t ntp;
    uint32_t frames;        /* the slot's counters since Python last took them: frames, */
    uint64_t bytes;         /* their encoded bytes, the delay added (histogram, sum) */
    uint32_t delay[HS_DELAY_BUCKETS];
    double delay_ms;
    hs_history *hist;       /* where the plain packets go for NACKs (or NULL) */
} hs_route;

static uint8_t hs_out[HS_MAX_PACKETS][HS_SLOT];
static int hs_out_len[HS_MAX_PACKETS];

int hs_route_header(hs_route *r, const uint8_t *header, int header_len, int abs_at)
{
    if (header_len < 12 || header_len > HS_HEADER_MAX || abs_at + 3 > header_len)
        return -EINVAL;
    memcpy(r->header, header, (size_t)header_len);
    r->header_len = header_len;
    r->abs_at = abs_at;
    return 0;
}

int hs_set_address(hs_route *r, int family, const char *host, int port)
{
    memset(&r->addr, 0, sizeof(r->addr));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&r->addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return -EINVAL;
        r->addrlen = (int)sizeof(*a);
        return 0;
    }
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&r->addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return -EINVAL;
        r->addrlen = (int)sizeof(*a);
        return 0;
    }
    return -EAFNOSUPPORT;
}

static int hs_send_gso(hs_route *r, int n)
{
    struct iovec iov[HS_MAX_PACKETS];
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } control;
    struct msghdr msg;
    struct cmsghdr *cm;
    uint16_t size = (uint16_t)hs_out_len[0];
    int i;
    for (i = 0; i < n; i++) {
        iov[i].iov_base = hs_out[i];
        iov[i].iov_len = (size_t)hs_out_len[i];
    }
    memset(&msg, 0, sizeof(msg));
    memset(&control, 0, sizeof(control));
    msg.msg_name = &r->addr;
    msg.msg_namelen = (socklen_t)r->addrlen;
    msg.msg_iov = iov;
    msg.msg_iovlen = (size_t)n;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    memcpy(CMSG_DATA(cm), &size, sizeof(size));
    if (sendmsg(r->fd, &msg, 0) >= 0)
        return n;
    return -errno;
}

static int hs_send_each(hs_route *r, int first, int n)
{
    struct mmsghdr msgs[HS_MAX_PACKETS];
    struct iovec iov[HS_MAX_PACKETS];
    int i, count = n - first;
    memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)count);
    for (i = 0; i < count; i++) {
        iov[i].iov_base = hs_out[first + i];
        iov[i].iov_len = (size_t)hs_out_len[first + i];
        msgs[i].msg_hdr.msg_name = &r->addr;
        msgs[i].msg_hdr.msg_namelen = (socklen_t)r->addrlen;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = (int)sendmmsg(r->fd, msgs, (unsigned int)count, 0);
    if (sent < 0)
        return -errno;
    return first + sent;
}

/* Write and protect one frame's packets into hs_out: n payloads laid end to end in
 * data, the i-th sizes[i] bytes long (sizes_raw: n native 16-bit numbers), with
 * sequence numbers from seq, RTP timestamp ts and abs-send-time abs (6.18 fixed
 * point, 24 bits); the last packet has the marker. pid >= 0: a VP8 payload
 * descriptor's picture id is rewritten to pid in two bytes (M bit set), as the
 * Python Packer does for a subscriber that changed publisher. A route with a
 * history keeps each plain packet there. Returns the payload octets, or
 * -EMSGSIZE/-EINVAL (nothing protected) or below -1000 (libsrtp's error). */
static int hs_protect_frame(hs_route *r, uint16_t seq, uint32_t ts, uint32_t abs,
                            const uint8_t *data, const char *sizes_raw, int n, int pid)
{
    int i, hl = r->header_len, octets = 0;
    uint16_t sizes[HS_MAX_PACKETS];
    uint8_t *h = r->header;
    hs_protect_t protect = (hs_protect_t)r->protect;
    if (n < 1 || n > HS_MAX_PACKETS || hl < 12 || hl > HS_HEADER_MAX)
        return -EINVAL;
    memcpy(sizes, sizes_raw, sizeof(uint16_t) * (size_t)n);
    for (i = 0; i < n; i++) {
        int grow = 0;
        if (pid >= 0) {  /* the descriptor must hold X, I and a picture id */
            const uint8_t *p = data;
            int k;
            for (k = 0; k < i; k++)
                p += sizes[k];
            if (sizes[i] < 3 || !(p[0] & 0x80) || !(p[1] & 0x80) || (p[2] & 0x80 && sizes[i] < 4))
                return -EINVAL;
            grow = p[2] & 0x80 ? 0 : 1;
        }
        if (hl + sizes[i] + grow > 1500)
            return -EMSGSIZE;
    }
    h[4] = (uint8_t)(ts >> 24);
    h[5] = (uint8_t)(ts >> 16);
    h[6] = (uint8_t)(ts >> 8);
    h[7] = (uint8_t)ts;
    if (r->abs_at >= 0 && r->abs_at + 3 <= hl) {
        h[r->abs_at] = (uint8_t)(abs >> 16);
        h[r->abs_at + 1] = (uint8_t)(abs >> 8);
        h[r->abs_at + 2] = (uint8_t)abs;
    }
    for (i = 0; i < n; i++) {
        uint8_t *o = hs_out[i];
        uint16_t s = (uint16_t)(seq + i);
        int size = sizes[i], len, err;
        memcpy(o, h, (size_t)hl);
        o[1] = (uint8_t)((h[1] & 0x7f) | (i == n - 1 ? 0x80 : 0));
        o[2] = (uint8_t)(s >> 8);
        o[3] = (uint8_t)s;
        if (pid >= 0) {
            int skip = data[2] & 0x80 ? 4 : 3;
            o[hl] = data[0];
            o[hl + 1] = data[1];
            o[hl + 2] = (uint8_t)(0x80 | (pid >> 8));
            o[hl + 3] = (uint8_t)pid;
            memcpy(o + hl + 4, data + skip, (size_t)(size - skip));
            len = hl + 4 + size - skip;
        } else {
            memcpy(o + hl, data, (size_t)size);
            len = hl + size;
        }
        data += size;
        octets += len - hl;
        if (r->hist != NULL) {
            hs_history *hist = r->hist;
            int at = s % HS_HISTORY;
            memcpy(hist->packet[at], o, (size_t)len);
            hist->seq[at] = s;
            hist->len[at] = (uint16_t)len;
        }
        err = protect(r->srtp, o, &len);
        if (err != 0)
            return -1000 - err;
        hs_out_len[i] = len;
    }
    return octets;
}

/* Send the n packets in hs_out: the number written to the socket (n when all went),
 * or a negative errno when the socket refused the first of them (-EAGAIN: its
 * buffer is full). The packets not written stay in hs_out (hs_packet). */
static int hs_transmit(hs_route *r, int n)
{
    int i, result;
    if (n > 1 && r->gso) {
        int even = hs_out_len[n - 1] <= hs_out_len[0];
        for (i = 1; even && i < n - 1; i++)
            even = hs_out_len[i] == hs_out_len[0];
        if (even) {
            result = hs_send_gso(r, n);
            if (result != -EAGAIN && result != -EWOULDBLOCK && result < 0)
                r->gso = 0;  /* e.g. EIO without checksum offload: packet by packet */
            else
                return result;
        }
    }
    result = 0;
    while (result < n) {  /* sendmmsg may stop early: go on until done or refused */
        int sent = hs_send_each(r, result, n);
        if (sent < 0)
            return result > 0 ? result : sent;
        if (sent == result)
            break;
        result = sent;
    }
    return result;
}

/* Packetise, protect and send one frame (hs_protect_frame, hs_transmit).
 *
 * Returns the number of packets written to the socket (n when all went), or a
 * negative errno when the socket refused the first of them (-EAGAIN: its buffer
 * is full). Packets from the return value on stay protected in the buffer
 * (hs_packet) for the caller to queue. -EMSGSIZE/-EINVAL: nothing was protected;
 * below -1000: libsrtp's error (1000 + srtp_err_status_t), nothing was sent. */
int hs_send(hs_route *r, uint16_t seq, uint32_t ts, uint32_t abs,
            const uint8_t *data, const char *sizes_raw, int n)
{
    int octets = hs_protect_frame(r, seq, ts, abs, data, sizes_raw, n, -1);
    if (octets < 0)
        return octets;
    return hs_transmit(r, n);
}

/* One frame to every member of a producer's fan-out (routes[first..m-1]), each with
 * its own sequence numbers, timestamps, picture ids and counters (the fields after
 * the header in hs_route). ts: the producer's timestamp; pid: its VP8 picture id;
 * frame_bytes, bucket and ms: what each member's counters add (the frame's encoded
 * size, the delay histogram's bucket and the delay in milliseconds).
 *
 * A member whose timestamp would not move forward, or whose frame cannot be
 * protected, is left untouched and marked in status[i] (HS_PYTHON, or the error):
 * Python sends it that frame its own way. When a member's socket takes only part
 * of the frame (or none: status[i] is what hs_send would return), the rest stays in
 * hs_out and this returns i at once, for Python to queue them and call again from
 * i + 1. Otherwise returns m. *failed counts the members marked. */
#define HS_PYTHON (-2000000)
int hs_fanout(hs_route **routes, int first, int m, int64_t ts, uint64_t ntp, uint32_t abs,
              int pid, const uint8_t *data, const char *sizes_raw, int n,
              uint32_t frame_bytes, int bucket, double ms, int *status, int *failed)
{
    int i;
    if (bucket < 0 || bucket >= HS_DELAY_BUCKETS)
        bucket = HS_DELAY_BUCKETS - 1;
    for (i = first; i < m; i++) {
        hs_route *r = routes[i];
        int64_t out = ts + r->offset;
        int pidv = 0, octets, sent;
        uint32_t wire;
        status[i] = 0;
        if (out <= r->last_out) {
            status[i] = HS_PYTHON;
            (*failed)++;
            continue;
        }
        if (r->vp8)
            pidv = (pid + r->pid_offset) & 0x7fff;
        wire = (uint32_t)(r->origin + (uint64_t)out);
        octets = hs_protect_frame(r, r->seq, wire, abs, data, sizes_raw, n,
                                  r->vp8 && r->pid_offset ? pidv : -1);
        if (octets < 0) {
            status[i] = octets;
            (*failed)++;
            continue;
        }
        r->last_out = out;
        if (r->vp8)
            r->last_pid = pidv;
        r->seq = (uint16_t)(r->seq + n);
        r->packets += (uint32_t)n;
        r->octets += (uint64_t)octets;
        r->rtp = wire;
        r->ntp = ntp;
        r->frames++;
        r->bytes += frame_bytes;
        r->delay[bucket]++;
        r->delay_ms += ms;
        sent = hs_transmit(r, n);
        if (sent != n) {
            status[i] = sent;
            return i;
        }
    }
    return m;
}

/* What a fan-out member's route counted since the last call, into out (and zeroed
 * there): packets, octets, the last RTP timestamp and its NTP time, frames, bytes,
 * the delay's sum in microseconds, then the HS_DELAY_BUCKETS bucket counts; and its
 * state: the next sequence number, the last timestamp (before the origin) and the
 * last picture id. HS_TAKE numbers in all. */
#define HS_TAKE (10 + HS_DELAY_BUCKETS)
void hs_take(hs_route *r, int64_t *out)
{
    int i;
    out[0] = r->packets;
    out[1] = (int64_t)r->octets;
    out[2] = r->rtp;
    out[3] = (int64_t)r->ntp;
    out[4] = r->frames;
    out[5] = (int64_t)r->bytes;
    out[6] = (int64_t)(r->delay_ms * 1000.0 + 0.5);
    out[7] = r->seq;
    out[8] = r->last_out;
    out[9] = r->last_pid;
    for (i = 0; i < HS_DELAY_BUCKETS; i++) {
        out[10 + i] = r->delay[i];
        r->delay[i] = 0;
    }
    r->packets = 0;
    r->octets = 0;
    r->frames = 0;
    r->bytes = 0;
    r->delay_ms = 0.0;
}

/* The packet a route keeps for sequence numbers congruent to key (mod HS_HISTORY):
 * its bytes before protection, *seq and *len; NULL when there is none. */
const uint8_t *hs_history_get(hs_route *r, int key, int *seq, int *len)
{
    hs_history *hist = r->hist;
    int at = key % HS_HISTORY;
    if (hist == NULL || key < 0 || hist->len[at] == 0)
        return NULL;
    *seq = hist->seq[at];
    *len = hist->len[at];
    return hist->packet[at];
}

/* The i-th protected packet of the last hs_send, and its length. */
const uint8_t *hs_packet(int i, int *len)
{
    if (i < 0 || i >= HS_MAX_PACKETS) {
        *len = 0;
        return hs_out[0];
    }
    *len = hs_out_len[i];
    return hs_out[i];
}
