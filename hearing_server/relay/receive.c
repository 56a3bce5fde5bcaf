/* A publisher's RTP as the relay receives it, in C: SRTP unprotection with the
 * connection's libsrtp session and the RTP header read, in one call per packet.
 *
 * The read is LeanStream.receive's (aiortc_hook.py), which reads what aiortc's
 * RtpPacket.parse reads: version 2, the stream's payload type, CSRCs, one-byte header
 * extensions (RFC 8285; abs-send-time's value; a numeric extension of the wrong size
 * makes aiortc's parser fail, so the packet is dropped; a text extension such as
 * the MID, which aiortc decodes, in ASCII), padding. Anything else (another payload
 * type, two-byte extensions, text beyond ASCII, a malformed header) is left to the
 * Python side, which then reads it its own way (tests/relay/test_lean_receive.py
 * holds the two reads to the same answers).
 *
 * Compiled into hearing_server.relay._sendpath with sendpath.c (sendpath_build.py).
 */
#include <stdint.h>
#include <string.h>

#define HS_RX_MAX 1500
#define HS_RX_FIELDS 9

/* hs_receive's answers (below 0: an error) */
enum { HS_RX_OTHER = 0, HS_RX_READ = 1, HS_RX_DROPPED = 2 };
#define HS_RX_TOO_LONG -1
#define HS_RX_SRTP_ERROR -1000

/* what an answer of HS_RX_READ writes, in this order */
enum { HS_RX_LENGTH, HS_RX_MARKER, HS_RX_SEQ, HS_RX_TS, HS_RX_SSRC, HS_RX_START,
       HS_RX_END, HS_RX_PADDING, HS_RX_ABS };

typedef int (*hs_unprotect_t)(void *ctx, void *rtp, int *len);

/* One connection's receive side: its libsrtp session and a packet's room. */
typedef struct {
    void *srtp;             /* the srtp_t of the session (kept alive by its owner) */
    uintptr_t unprotect;    /* srtp_unprotect of the libsrtp that made srtp */
    uint8_t buffer[HS_RX_MAX];
} hs_rx;

/* What one stream's packets are read with: its payload type, and by one-byte
 * extension id: 0 not read, -1 a text extension, n > 0 a number of n bytes. */
typedef struct {
    int pt;
    int abs_id;             /* abs-send-time's id, or -1 */
    int8_t ext[16];
} hs_rx_stream;

uint8_t *hs_rx_buffer(hs_rx *rx)
{
    return rx->buffer;
}

static int hs_read_rtp(const hs_rx_stream *s, const uint8_t *p, int len, int64_t *out)
{
    out[HS_RX_LENGTH] = len;
    if (len < 12 || p[0] >> 6 != 2 || (p[1] & 0x7F) != s->pt)
        return HS_RX_OTHER;
    int pos = 12 + 4 * (p[0] & 0x0F);
    int64_t abs = -1;
    if (p[0] & 0x10) {
        if (len < pos + 4)
            return HS_RX_OTHER;
        int profile = p[pos] << 8 | p[pos + 1];
        int end = pos + 4 + 4 * (p[pos + 2] << 8 | p[pos + 3]);
        pos += 4;
        if (profile != 0xBEDE || len < end)
            return HS_RX_OTHER;
        while (pos < end) {
            int octet = p[pos];
            if (!octet) {
                pos += 1;
                continue;
            }
            int id = octet >> 4, size = (octet & 0x0F) + 1;
            pos += 1;
            if (pos + size > end)
                return HS_RX_OTHER;
            int kind = s->ext[id];
            if (kind > 0) {
                if (size != kind)
                    return HS_RX_DROPPED;
                if (id == s->abs_id)
                    abs = (int64_t)p[pos] << 16 | p[pos + 1] << 8 | p[pos + 2];
            } else if (kind < 0) {  /* text (the MID): ASCII decodes as aiortc does */
                for (int i = 0; i < size; i++)
                    if (p[pos + i] & 0x80)
                        return HS_RX_OTHER;  /* beyond ASCII: the Python side decodes it */
            }
            pos += size;
        }
    } else if (len < pos) {
        return HS_RX_OTHER;
    }
    int padding = 0;
    if (p[0] & 0x20) {
        padding = p[len - 1];
        if (!padding || padding > len - pos)
            return HS_RX_OTHER;
    }
    out[HS_RX_MARKER] = p[1] >> 7;
    out[HS_RX_SEQ] = p[2] << 8 | p[3];
    out[HS_RX_TS] = (int64_t)((uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | p[6] << 8 | p[7]);
    out[HS_RX_SSRC] = (int64_t)((uint32_t)p[8] << 24 | (uint32_t)p[9] << 16
                                | p[10] << 8 | p[11]);
    out[HS_RX_START] = pos;
    out[HS_RX_END] = len - padding;
    out[HS_RX_PADDING] = padding;
    out[HS_RX_ABS] = abs;
    return HS_RX_READ;
}

/* One packet: with rx, SRTP-unprotected into rx's buffer first (HS_RX_TOO_LONG, or
 * HS_RX_SRTP_ERROR - libsrtp's status); with rx NULL, data is already plain. Then
 * read for stream s (an hs_rx answer; out[HS_RX_LENGTH] is the plain length). */
int hs_receive(hs_rx *rx, const hs_rx_stream *s, const uint8_t *data, int n, int64_t *out)
{
    if (rx == NULL)
        return hs_read_rtp(s, data, n, out);
    if (n > HS_RX_MAX)
        return HS_RX_TOO_LONG;
    memcpy(rx->buffer, data, (size_t)n);
    int len = n;
    int status = ((hs_unprotect_t)rx->unprotect)(rx->srtp, rx->buffer, &len);
    if (status)
        return HS_RX_SRTP_ERROR - status;
    return hs_read_rtp(s, rx->buffer, len, out);
}
