/* msg.c — packed protobuf-c messages over MPI without spinning (msg.h). */
#include "msg.h"

#include <mpi.h>
#include <stdlib.h>

#include "runtime/mts.h"

static int mpi_err(int rc, const char *what, int peer) {
  char s[MPI_MAX_ERROR_STRING];
  int n = 0;
  MPI_Error_string(rc, s, &n);
  return mts_seterr(MTS_EMPI, "%s (rank %d): %s", what, peer, s);
}

int mts_msg_send(const Mts__Msg *m, int dest) {
  size_t n = mts__msg__get_packed_size(m);
  uint8_t stackbuf[512];
  uint8_t *buf = n <= sizeof stackbuf ? stackbuf : malloc(n);
  if (!buf) return mts_seterr(MTS_ENOMEM, "message of %zu bytes", n);
  mts__msg__pack(m, buf);
  int rc = MPI_Send(buf, (int)n, MPI_BYTE, dest, MTS_MSG_TAG, MPI_COMM_WORLD);
  if (buf != stackbuf) free(buf);
  return rc == MPI_SUCCESS ? 0 : mpi_err(rc, "MPI_Send", dest);
}

int mts_msg_poll(Mts__Msg **out, int *src) {
  int flag = 0, count = 0, rc;
  MPI_Status st;
  *out = NULL;
  rc = MPI_Iprobe(MPI_ANY_SOURCE, MTS_MSG_TAG, MPI_COMM_WORLD, &flag, &st);
  if (rc != MPI_SUCCESS) return mpi_err(rc, "MPI_Iprobe", -1);
  if (!flag) return 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  uint8_t *buf = malloc(count > 0 ? (size_t)count : 1);
  if (!buf) return mts_seterr(MTS_ENOMEM, "message of %d bytes", count);
  rc = MPI_Recv(buf, count, MPI_BYTE, st.MPI_SOURCE, MTS_MSG_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (rc != MPI_SUCCESS) {
    free(buf);
    return mpi_err(rc, "MPI_Recv", st.MPI_SOURCE);
  }
  *out = mts__msg__unpack(NULL, (size_t)count, buf);
  free(buf);
  if (src) *src = st.MPI_SOURCE;
  if (!*out || (*out)->body_case == MTS__MSG__BODY__NOT_SET) {
    mts_msg_free(*out);
    *out = NULL;
    return mts_seterr(MTS_EPROTO, "undecodable message of %d bytes from rank %d", count, st.MPI_SOURCE);
  }
  return 1;
}

int mts_msg_wait(Mts__Msg **out, int *src, int64_t deadline_us, int64_t min_us,
                 int64_t max_us) {
  int64_t nap = min_us > 0 ? min_us : 1;
  for (;;) {
    int rc = mts_msg_poll(out, src);
    if (rc != 0) return rc;
    int64_t now = mts_now_us();
    if (deadline_us >= 0 && now >= deadline_us) return 0;
    int64_t s = nap;
    if (deadline_us >= 0 && deadline_us - now < s) s = deadline_us - now;
    mts_sleep_us(s);
    if (nap < max_us) nap = nap * 2 > max_us ? max_us : nap * 2;
  }
}

void mts_msg_free(Mts__Msg *m) {
  if (m) mts__msg__free_unpacked(m, NULL);
}
