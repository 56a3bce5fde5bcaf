/* A publisher's media packet received in one C call: after hs_receive's unprotect and
 * read (receive.c), the rest of what aiortc 1.16.0's RTCRtpReceiver._handle_rtp_packet
 * does for a tapped receiver, in its order: the bandwidth estimate (estimator.c), the
 * RTCP statistics (StreamStatistics), the NACK generator (NackGenerator), the VP8
 * payload descriptor, and the relay's LowDelayJitterBuffer (aiortc_hook.py) on top
 * of aiortc's JitterBuffer. Python is left what must be Python: sending the REMB,
 * NACK and PLI packets, and the frame to its producer.
 *
 * Each part is also a C object of its own (hs_stats, hs_nack, hs_jb) that Python
 * facades put in the receiver's place (ingest.py), so packets that take aiortc's way
 * (retransmissions, what the C read leaves) reach the same state, and aiortc's RTCP
 * reports read it. tests/relay/test_ingest.py holds each part to aiortc's (and the
 * Python buffer's) answers and state, packet by packet.
 *
 * Compiled into hearing_server.relay._sendpath after receive.c (sendpath_build.py).
 */
#include <stdlib.h>
#include <time.h>

/* ---- the clocks Python reads (time.time, time.perf_counter) ---------------------- */

static double hs_fake_now = 0.0;

/* tests: both clocks read `now` (0: the real clocks again) */
void hs_set_fake_clock(double now)
{
    hs_fake_now = now;
}

/* seconds as CPython's time.time() / perf_counter() give them (_PyTime_AsSecondsDouble) */
static double hs_clock(clockid_t id)
{
    if (hs_fake_now != 0.0)
        return hs_fake_now;
    struct timespec ts;
    clock_gettime(id, &ts);
    int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (ns % 1000000000 == 0)
        return (double)(ns / 1000000000);
    return (double)ns / 1e9;
}

double hs_wall_clock(void)
{
    return hs_clock(CLOCK_REALTIME);
}

static int u16_gt(int a, int b)
{
    return (a > b && a - b < 0x8000) || (a < b && b - a > 0x8000);
}

/* ---- StreamStatistics.add -------------------------------------------------------- */

typedef struct {
    int has_base, has_max, has_last;
    int base_seq, max_seq;
    int64_t cycles, packets_received, clockrate;
    int64_t jitter_q4, last_arrival, last_timestamp;
} hs_stats;

void hs_stats_add(hs_stats *s, int seq, int64_t timestamp, double now)
{
    int in_order = !s->has_max || u16_gt(seq, s->max_seq);
    s->packets_received += 1;
    if (!s->has_base) {
        s->has_base = 1;
        s->base_seq = seq;
    }
    if (!in_order)
        return;
    int64_t arrival = (int64_t)(now * (double)s->clockrate);
    if (s->has_max && seq < s->max_seq)
        s->cycles += 1 << 16;
    s->has_max = 1;
    s->max_seq = seq;
    if (s->packets_received > 1 && (!s->has_last || timestamp != s->last_timestamp)) {
        int64_t diff = (arrival - s->last_arrival) - (timestamp - s->last_timestamp);
        if (diff < 0)
            diff = -diff;
        s->jitter_q4 += diff - ((s->jitter_q4 + 8) >> 4);
    }
    s->has_last = 1;
    s->last_arrival = arrival;
    s->last_timestamp = timestamp;
}

/* ---- NackGenerator.add ------------------------------------------------------------
 * aiortc keeps a set of missing sequence numbers and truncates it to those not older
 * than max_seq - RTP_HISTORY_SIZE after each packet: the set always lies within
 * [max_seq - 128, max_seq - 1], kept here as bits by sequence number. */

#define HS_NACK_HISTORY 128

typedef struct {
    int has_max, max_seq;
    uint8_t missing[8192];
} hs_nack;

static void nack_put(hs_nack *n, int seq, int on)
{
    seq &= 0xFFFF;
    if (on)
        n->missing[seq >> 3] |= (uint8_t)(1 << (seq & 7));
    else
        n->missing[seq >> 3] &= (uint8_t)~(1 << (seq & 7));
}

int hs_nack_has(const hs_nack *n, int seq)
{
    seq &= 0xFFFF;
    return n->missing[seq >> 3] >> (seq & 7) & 1;
}

/* 1 when the packet showed a gap (aiortc's "missed": then a NACK goes out) */
int hs_nack_add(hs_nack *n, int seq)
{
    if (!n->has_max) {
        n->has_max = 1;
        n->max_seq = seq;
        return 0;
    }
    if (!u16_gt(seq, n->max_seq)) {
        nack_put(n, seq, 0);
        return 0;
    }
    int old = n->max_seq, d = (seq - old) & 0xFFFF;
    /* what falls out of the window, then the new gaps that stay in it */
    for (int k = 0; k < d && k < HS_NACK_HISTORY; k++)
        nack_put(n, old - HS_NACK_HISTORY + k, 0);
    for (int j = d - HS_NACK_HISTORY > 1 ? d - HS_NACK_HISTORY : 1; j < d; j++)
        nack_put(n, old + j, 1);
    n->max_seq = seq;
    return d >= 2;
}

/* ---- the jitter buffer: aiortc's JitterBuffer (prefetch 0) under the relay's
 * LowDelayJitterBuffer, step for step (aiortc_hook.py has the Python one). Slots hold
 * a copy of the depayloaded data, as aiortc's hold the packet. */

#define HS_MAX_MISORDER 100
#define HS_AUDIO_REORDER_WINDOW 48000u
#define HS_RECENT_AUDIO 64

enum { HS_JB_PLI = 1, HS_JB_FRAME = 2, HS_JB_KEYFRAME = 4 };

typedef struct {
    int present, marker, len;
    uint32_t timestamp;
} hs_jb_slot;

typedef struct {
    int capacity, is_video;
    int has_origin, origin;
    double startup_wait, recovery_wait, keyframe_retry;
    int64_t media_ssrc;     /* -1: none yet */
    double arrived_at;
    int has_last_audio;
    uint32_t last_audio_ts;
    uint32_t recent[HS_RECENT_AUDIO];
    int recent_n, recent_next;
    int awaiting_keyframe;
    int64_t lost_frames, discarded_frames;
    int has_blocked, has_first, released_any;
    double blocked_since, last_request, first_at;
    /* the frame the last add released */
    int frame_len;
    uint32_t frame_ts;
    hs_jb_slot *slots;
    uint8_t *data;          /* capacity slots of HS_RX_MAX bytes */
    uint8_t *frame;         /* room for a frame of capacity packets */
} hs_jb;

void hs_jb_free(hs_jb *jb)
{
    if (jb == NULL)
        return;
    free(jb->slots);
    free(jb->data);
    free(jb->frame);
    free(jb);
}

hs_jb *hs_jb_new(int capacity, int is_video, double startup_wait, double recovery_wait,
                 double keyframe_retry)
{
    if (capacity <= 0 || capacity & (capacity - 1))
        return NULL;
    hs_jb *jb = calloc(1, sizeof(hs_jb));
    if (jb == NULL)
        return NULL;
    jb->capacity = capacity;
    jb->is_video = is_video;
    jb->startup_wait = startup_wait;
    jb->recovery_wait = recovery_wait;
    jb->keyframe_retry = keyframe_retry;
    jb->media_ssrc = -1;
    jb->slots = calloc((size_t)capacity, sizeof(hs_jb_slot));
    jb->data = malloc((size_t)capacity * HS_RX_MAX);
    jb->frame = malloc((size_t)capacity * HS_RX_MAX);
    if (jb->slots == NULL || jb->data == NULL || jb->frame == NULL) {
        hs_jb_free(jb);
        return NULL;
    }
    return jb;
}

const char *hs_jb_frame(const hs_jb *jb)
{
    return (const char *)jb->frame;
}

static hs_jb_slot *jb_at(hs_jb *jb, int seq)
{
    return &jb->slots[(unsigned)seq % (unsigned)jb->capacity];
}

static void jb_store(hs_jb *jb, int seq, uint32_t ts, int marker, const uint8_t *data,
                     int len)
{
    int pos = (int)((unsigned)seq % (unsigned)jb->capacity);
    hs_jb_slot *slot = &jb->slots[pos];
    slot->present = 1;
    slot->marker = marker;
    slot->timestamp = ts;
    slot->len = len;
    memcpy(jb->data + (size_t)pos * HS_RX_MAX, data, (size_t)len);
}

static void jb_remove(hs_jb *jb, int count)
{
    for (int i = 0; i < count; i++) {
        jb_at(jb, jb->origin)->present = 0;
        jb->origin = (jb->origin + 1) & 0xFFFF;
    }
}

/* the packets from the origin on, `count` of them, joined as the released frame */
static void jb_release(hs_jb *jb, int count, uint32_t ts)
{
    int len = 0;
    for (int i = 0; i < count; i++) {
        int pos = (int)((unsigned)(jb->origin + i) % (unsigned)jb->capacity);
        memcpy(jb->frame + len, jb->data + (size_t)pos * HS_RX_MAX,
               (size_t)jb->slots[pos].len);
        len += jb->slots[pos].len;
    }
    jb->frame_len = len;
    jb->frame_ts = ts;
    jb_remove(jb, count);
}

static int jb_smart_remove(hs_jb *jb, int count)
{
    int has_ts = 0;
    uint32_t ts = 0;
    for (int i = 0; i < jb->capacity; i++) {
        hs_jb_slot *slot = jb_at(jb, jb->origin);
        if (slot->present) {
            if (i >= count && (!has_ts || ts != slot->timestamp))
                break;
            has_ts = 1;
            ts = slot->timestamp;
        }
        slot->present = 0;
        jb->origin = (jb->origin + 1) & 0xFFFF;
        if (i == jb->capacity - 1)
            return 1;
    }
    return 0;
}

/* JitterBuffer._remove_frame with prefetch 0: a frame once the next one starts */
static int jb_remove_frame(hs_jb *jb)
{
    int has_ts = 0;
    uint32_t ts = 0;
    for (int count = 0; count < jb->capacity; count++) {
        hs_jb_slot *slot = jb_at(jb, jb->origin + count);
        if (!slot->present)
            break;
        if (!has_ts) {
            has_ts = 1;
            ts = slot->timestamp;
        } else if (slot->timestamp != ts) {
            jb_release(jb, count, ts);
            return 1;
        }
    }
    return 0;
}

/* JitterBuffer.add: its PLI flag, and 1 in *frame when a frame was released */
static int jb_base_add(hs_jb *jb, int seq, uint32_t ts, int marker, const uint8_t *data,
                       int len, int *frame)
{
    int pli = 0, delta, misorder;
    *frame = 0;
    if (!jb->has_origin) {
        jb->has_origin = 1;
        jb->origin = seq;
        delta = misorder = 0;
    } else {
        delta = (seq - jb->origin) & 0xFFFF;
        misorder = (jb->origin - seq) & 0xFFFF;
    }
    if (misorder < delta) {
        if (misorder >= HS_MAX_MISORDER) {
            jb_remove(jb, jb->capacity);
            jb->origin = seq;
            delta = misorder = 0;
            if (jb->is_video)
                pli = 1;
        } else {
            return pli;
        }
    }
    if (delta >= jb->capacity) {
        if (jb_smart_remove(jb, delta - jb->capacity + 1))
            jb->origin = seq;
        if (jb->is_video)
            pli = 1;
    }
    jb_store(jb, seq, ts, marker, data, len);
    *frame = jb_remove_frame(jb);
    return pli;
}

/* LowDelayJitterBuffer._complete_at_origin */
static int jb_complete_at_origin(hs_jb *jb)
{
    if (!jb->has_origin)
        return 0;
    uint32_t ts = 0;
    for (int count = 0; count < jb->capacity; count++) {
        hs_jb_slot *slot = jb_at(jb, jb->origin + count);
        if (!slot->present)
            return 0;
        if (count == 0)
            ts = slot->timestamp;
        else if (slot->timestamp != ts)
            return 0;
        if (slot->marker) {
            jb_release(jb, count + 1, ts);
            return 1;
        }
    }
    return 0;
}

/* LowDelayJitterBuffer._skip_to_next_frame */
static int jb_skip_to_next_frame(hs_jb *jb)
{
    for (int count = 1; count < jb->capacity; count++) {
        hs_jb_slot *before = jb_at(jb, jb->origin + count - 1);
        hs_jb_slot *p = jb_at(jb, jb->origin + count);
        if (before->present && before->marker && p->present) {
            jb_remove(jb, count);
            return 1;
        }
    }
    return 0;
}

/* LowDelayJitterBuffer.add at monotonic time `now`: HS_JB_* flags (HS_JB_KEYFRAME:
 * ask for a keyframe, the relay's way or a PLI of the buffer's own) */
int hs_jb_add(hs_jb *jb, int seq, uint32_t ts, int marker, uint32_t ssrc,
              const uint8_t *data, int len, double now)
{
    jb->arrived_at = now;
    jb->media_ssrc = ssrc;
    if (len < 0 || len > HS_RX_MAX)
        return 0;
    if (!jb->is_video) {
        if (jb->has_last_audio && ts - jb->last_audio_ts >= 0x80000000u) {
            if (jb->last_audio_ts - ts > HS_AUDIO_REORDER_WINDOW)
                return 0;
            for (int i = 0; i < jb->recent_n; i++)
                if (jb->recent[i] == ts)
                    return 0;
        } else {
            jb->has_last_audio = 1;
            jb->last_audio_ts = ts;
        }
        jb->recent[jb->recent_next] = ts;
        jb->recent_next = (jb->recent_next + 1) % HS_RECENT_AUDIO;
        if (jb->recent_n < HS_RECENT_AUDIO)
            jb->recent_n++;
        memcpy(jb->frame, data, (size_t)len);
        jb->frame_len = len;
        jb->frame_ts = ts;
        return HS_JB_FRAME;
    }
    if (!jb->has_first) {
        jb->has_first = 1;
        jb->first_at = now;
    }
    if (!jb->released_any) {
        if (!jb->has_origin
            || (0 < ((jb->origin - seq) & 0xFFFF) && ((jb->origin - seq) & 0xFFFF) < HS_MAX_MISORDER)) {
            jb->has_origin = 1;
            jb->origin = seq;
        }
        if (now - jb->first_at < jb->startup_wait
            && ((seq - jb->origin) & 0xFFFF) < jb->capacity) {
            jb_store(jb, seq, ts, marker, data, len);
            return 0;
        }
    }
    int frame, flags = jb_base_add(jb, seq, ts, marker, data, len, &frame) ? HS_JB_PLI : 0;
    if (!frame)
        frame = jb_complete_at_origin(jb);
    if (frame) {
        jb->released_any = 1;
        jb->has_blocked = 0;
    } else if (jb->has_origin && seq != jb->origin) {
        /* something before this packet is still missing */
        if (!jb->has_blocked) {
            jb->has_blocked = 1;
            jb->blocked_since = now;
        } else if (now - jb->blocked_since > jb->recovery_wait && jb_skip_to_next_frame(jb)) {
            jb->has_blocked = 0;
            jb->lost_frames += 1;
            jb->awaiting_keyframe = 1;
            jb->last_request = 0.0;
            frame = jb_complete_at_origin(jb);
        }
    }
    if (jb->awaiting_keyframe && now - jb->last_request > jb->keyframe_retry) {
        jb->last_request = now;
        flags |= HS_JB_KEYFRAME;
    }
    return frame ? flags | HS_JB_FRAME : flags;
}

/* ---- the VP8 payload descriptor (RFC 7741), as _vp8_payload strips it: the start of
 * the data, or -1 where aiortc's vp8_depayload raises */

int hs_vp8_start(const uint8_t *p, int n)
{
    if (n && p[0] & 0x80) {
        int pos = 2;
        if (n > 1) {
            int x = p[1];
            if (x & 0x80)
                pos += n > 2 && p[2] & 0x80 ? 2 : 1;
            if (x & 0x40)
                pos += 1;
            if (x & 0x30)
                pos += 1;
        }
        if (pos > n || (n > 1 && p[1] & 0x80 && n < 3))
            return -1;
        return pos;
    }
    return n ? 1 : -1;
}

/* ---- one packet, all of it --------------------------------------------------------- */

/* aiortc's TimestampMapper: a frame's RTP timestamp, unwrapped, from the first one */
typedef struct {
    int has_origin;
    int64_t origin, last;
} hs_tsmap;

int64_t hs_tsmap_map(hs_tsmap *m, int64_t timestamp)
{
    if (!m->has_origin) {
        m->has_origin = 1;
        m->origin = timestamp;
    } else if (timestamp < m->last) {  /* the RTP timestamp wrapped */
        m->origin -= (int64_t)1 << 32;
    }
    m->last = timestamp;
    return timestamp - m->origin;
}

enum { HS_DEPAY_NONE = 0, HS_DEPAY_VP8 = 1, HS_DEPAY_PYTHON = 2 };
/* how the relay's tap tells a keyframe (recording/bitstream.py's is_keyframe): none
 * (the frame goes to Python's tap), VP8's frame tag, every frame (audio) */
enum { HS_KEY_NONE = 0, HS_KEY_VP8 = 1, HS_KEY_ALWAYS = 2 };

typedef struct {
    hs_rx_stream read;
    hs_estimator *estimator;    /* NULL: none (audio) */
    hs_stats *stats;
    hs_nack *nack;              /* NULL: none (audio) */
    hs_jb *jb;
    int depay;
    int key;                    /* HS_KEY_*: the tap's rule, or none */
    hs_tsmap *tsmap;            /* the receiver's timestamp mapper (with key) */
    int64_t active_ms;          /* the last refresh (Python's, each 0.1 s) */
} hs_ingest;

/* hs_ingest answers: below 0 hs_receive's errors; else flags */
enum {
    HS_IN_HANDLED = 1,      /* the packet is handled (with what the flags below say) */
    HS_IN_REMB = 2,         /* send a REMB: out[HS_IN_BITRATE], the estimator's SSRCs */
    HS_IN_NACK = 4,         /* send a NACK of the generator's missing packets */
    HS_IN_PLI = 8,
    HS_IN_FRAME = 16,       /* the buffer's frame (hs_jb_frame, out[HS_IN_FRAME_LEN]) */
    HS_IN_KEYFRAME = 32,    /* a frame was given up: ask for a keyframe */
    HS_IN_DEPAY_ERROR = 64, /* the payload descriptor is malformed: dropped */
    HS_IN_OTHER = 128,      /* not handled: the Python read (out[0]: the plain length) */
    HS_IN_REFRESH = 256,    /* not handled yet: refresh (out[HS_IN_ARRIVAL]), then again */
    HS_IN_DEPAY = 512,      /* handled up to the payload (out[HS_RX_START..END]), which
                             * Python depayloads and puts in the buffer */
    HS_IN_TAPPED = 1024,    /* the buffer's frame passed the tap (g->key): hand it on as
                             * HS_IN_FRAME says (its timestamp mapped), keyframe if
                             * HS_IN_KEY */
    HS_IN_KEY = 2048
};
enum { HS_IN_ARRIVAL = HS_RX_FIELDS, HS_IN_BITRATE, HS_IN_COUNT, HS_IN_FRAME_LEN,
       HS_IN_FRAME_TS };
#define HS_IN_FIELDS (HS_RX_FIELDS + 5)
#define HS_NTP_EPOCH_OFFSET 2208988800.0
#define HS_REFRESH_MS 100

/* One packet of g's stream: unprotected with rx first (NULL: data is plain), read,
 * and handled; arrival_ms < 0: now (aiortc's clock.current_ms()). */
int hs_ingest_packet(hs_rx *rx, hs_ingest *g, const uint8_t *data, int n, int64_t arrival_ms,
              int64_t *out)
{
    const uint8_t *p = data;
    int len = n;
    if (rx != NULL) {
        if (n > HS_RX_MAX)
            return HS_RX_TOO_LONG;
        memcpy(rx->buffer, data, (size_t)n);
        int status = ((hs_unprotect_t)rx->unprotect)(rx->srtp, rx->buffer, &len);
        if (status)
            return HS_RX_SRTP_ERROR - status;
        p = rx->buffer;
    }
    double wall = hs_clock(CLOCK_REALTIME);
    if (arrival_ms < 0)
        arrival_ms = (int64_t)((wall + HS_NTP_EPOCH_OFFSET) * 1000);
    out[HS_RX_LENGTH] = len;
    out[HS_IN_ARRIVAL] = arrival_ms;
    if (arrival_ms - g->active_ms >= HS_REFRESH_MS)
        return HS_IN_REFRESH;
    int read = hs_read_rtp(&g->read, p, len, out);
    if (read == HS_RX_DROPPED)  /* a numeric extension aiortc's parser fails on */
        return HS_IN_HANDLED;
    if (read != HS_RX_READ)
        return HS_IN_OTHER;
    int flags = HS_IN_HANDLED;
    int seq = (int)out[HS_RX_SEQ];
    uint32_t ts = (uint32_t)out[HS_RX_TS], ssrc = (uint32_t)out[HS_RX_SSRC];
    int start = (int)out[HS_RX_START], end = (int)out[HS_RX_END];
    if (g->estimator != NULL && out[HS_RX_ABS] >= 0) {
        int count = 0;
        int64_t bitrate = 0;
        if (hs_estimator_add(g->estimator, arrival_ms, (uint32_t)out[HS_RX_ABS],
                             end - start + out[HS_RX_PADDING], ssrc, &bitrate, &count)) {
            flags |= HS_IN_REMB;
            out[HS_IN_BITRATE] = bitrate;
            out[HS_IN_COUNT] = count;
        }
    }
    hs_stats_add(g->stats, seq, ts, wall);
    if (g->nack != NULL && hs_nack_add(g->nack, seq))
        flags |= HS_IN_NACK;
    if (g->depay == HS_DEPAY_PYTHON)
        return flags | HS_IN_DEPAY;
    if (end > start && g->depay == HS_DEPAY_VP8) {
        int skip = hs_vp8_start(p + start, end - start);
        if (skip < 0)
            return flags | HS_IN_DEPAY_ERROR;
        start += skip;
    }
    int jb = hs_jb_add(g->jb, seq, ts, (int)out[HS_RX_MARKER], ssrc, p + start,
                       end - start, hs_clock(CLOCK_MONOTONIC));
    if (jb & HS_JB_PLI)
        flags |= HS_IN_PLI;
    if (jb & HS_JB_KEYFRAME)
        flags |= HS_IN_KEYFRAME;
    if (!(jb & HS_JB_FRAME))
        return flags;
    hs_jb *b = g->jb;
    int64_t frame_ts = b->frame_ts;
    if (g->key != HS_KEY_NONE) {  /* the tap (_TapQueue.put): after a frame given up,
                                   * nothing but a keyframe is decodable */
        frame_ts = hs_tsmap_map(g->tsmap, frame_ts);  /* as aiortc maps each frame it releases */
        int key = g->key == HS_KEY_ALWAYS || (b->frame_len > 0 && !(b->frame[0] & 1));
        if (b->awaiting_keyframe) {
            if (!key) {
                b->discarded_frames++;
                return flags;
            }
            b->awaiting_keyframe = 0;
        }
        flags |= HS_IN_TAPPED | (key ? HS_IN_KEY : 0);
    }
    out[HS_IN_FRAME_LEN] = b->frame_len;
    out[HS_IN_FRAME_TS] = frame_ts;
    return flags | HS_IN_FRAME;
}
