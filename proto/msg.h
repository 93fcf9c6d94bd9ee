/* msg.h — the wire layer between coordinator and workers: one packed
 * protobuf-c Msg (proto/mtserve.proto) per MPI message, tag MTS_MSG_TAG on
 * MPI_COMM_WORLD.
 *
 * Open MPI busy-polls inside blocking calls (a rank in MPI_Recv burns a whole
 * core), so nothing here blocks in MPI: receivers poll with MPI_Iprobe and
 * sleep between polls; mts_msg_wait() grows the sleep from min_us to max_us
 * while nothing arrives.  Sends are small and go out eagerly.
 *
 * Ownership: a received message is freed with mts_msg_free().  Threading:
 * call from the thread that initialised MPI. */
#ifndef MTS_MSG_H
#define MTS_MSG_H

#include <stdint.h>

#include "mtserve.pb-c.h"

#define MTS_MSG_TAG 7

/* Packs and sends m to rank dest. */
int mts_msg_send(const Mts__Msg *m, int dest);
/* Non-blocking: 1 and *out (with *src) if a message was waiting, 0 if none,
 * negative on MPI or decode errors (message names the source rank). */
int mts_msg_poll(Mts__Msg **out, int *src);
/* Polls until a message arrives or deadline_us (mts_now_us clock; < 0 means
 * no deadline) passes, sleeping between polls from min_us doubling up to
 * max_us.  Returns 1 (message), 0 (deadline), or a negative error. */
int mts_msg_wait(Mts__Msg **out, int *src, int64_t deadline_us, int64_t min_us,
                 int64_t max_us);
void mts_msg_free(Mts__Msg *m);

#endif
