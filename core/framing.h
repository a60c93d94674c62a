/*
 * framing.h — Kafka frames out of a byte stream.
 *
 * Every Kafka request and response is a 4-byte big-endian size followed by that
 * many bytes.  The transport hands us whatever it has (the simulator may split a
 * frame anywhere; real mode passes what read() returned), so the reader buffers a
 * partial frame and resumes when more arrives.  A size that is negative or above
 * frame_bytes_max is a protocol error: the connection must be closed, since the
 * stream can no longer be resynchronised.
 */
#ifndef STREAMLAB_FRAMING_H
#define STREAMLAB_FRAMING_H

#include <stddef.h>
#include <stdint.h>

typedef struct frame_reader {
    uint8_t *buf;
    size_t len, cap;
    size_t consumed;     /* bytes of the stream (buf, or lent) already handed out as frames */
    const uint8_t *lent; /* when set, the caller's bytes, read in place of buf (len of them) */
    int32_t frame_bytes_max;
    int failed;
} frame_reader;

enum frame_result { FRAME_NONE = 0, FRAME_READY = 1, FRAME_TOO_LARGE = -1, FRAME_NEGATIVE = -2 };

void frame_reader_init(frame_reader *r, int32_t frame_bytes_max);
void frame_reader_deinit(frame_reader *r);
/* Adds bytes from the stream. */
void frame_reader_feed(frame_reader *r, const uint8_t *bytes, size_t len);
/* As feed, but when nothing is buffered the frames are read from the caller's
 * bytes in place, without a copy: bytes must stay valid until frame_reader_keep,
 * which the caller calls before its bytes go away (it copies what is left
 * unread).  Frames taken before it stay valid only as long as the caller's bytes. */
void frame_reader_feed_lent(frame_reader *r, const uint8_t *bytes, size_t len);
void frame_reader_keep(frame_reader *r);
/* Takes the next complete frame (without its size prefix).  *frame stays valid
 * until the next feed or deinit (or see frame_reader_feed_lent). */
enum frame_result frame_reader_next(frame_reader *r, const uint8_t **frame, size_t *len);
/* Bytes buffered that do not yet form a frame. */
size_t frame_reader_pending(const frame_reader *r);

#endif
