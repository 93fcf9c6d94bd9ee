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

/* Doorbells (same host only).  Polling with sleeps trades CPU for delay; a
 * rank whose senders all share its host can instead sleep on a POSIX
 * semaphore that each sender posts after MPI_Send, and wake at once.
 * - mts_doorbell_open_own() creates this rank's doorbell, named after its
 *   pid (call before telling peers the pid);
 * - mts_doorbell_attach(rank, pid) opens a same-host peer's doorbell, which
 *   mts_msg_send() then rings after every send to that rank;
 * - mts_doorbell_unlink_own() removes the name once peers have attached
 *   (the semaphore lives on while open);
 * - mts_msg_set_all_ring(1) tells mts_msg_wait() that every sender rings:
 *   it then sleeps on the doorbell (capped at a few ms as a safety net)
 *   instead of polling; otherwise it caps its sleeps at max_us.
 * mts_doorbell_close_all() at exit. */
int mts_doorbell_open_own(void);
int mts_doorbell_attach(int rank, int pid);
void mts_doorbell_unlink_own(void);
void mts_msg_set_all_ring(int on);
void mts_doorbell_close_all(void);

#endif
