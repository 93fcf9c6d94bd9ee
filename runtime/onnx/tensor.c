/* tensor.c — decoding ONNX TensorProto messages (initializers, Constant
 * attributes, test-data files) and the TensorProto file reader/writer.
 *
 * A tensor's payload can be in raw_data (little-endian, packed), in one of
 * the typed repeated fields (which field depends on the data type), or in an
 * external file named by the "location" key with optional "offset" and
 * "length".  Every size comes from the file, so each is checked before it is
 * used: dims, element count, payload length against the element count. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/onnx.h"
#include "runtime/onnx/onnx_int.h"

enum {
  DT_FLOAT = 1, DT_UINT8 = 2, DT_INT8 = 3, DT_UINT16 = 4, DT_INT16 = 5,
  DT_INT32 = 6, DT_INT64 = 7, DT_STRING = 8, DT_BOOL = 9, DT_FLOAT16 = 10,
  DT_DOUBLE = 11, DT_UINT32 = 12, DT_UINT64 = 13, DT_BFLOAT16 = 16
};

/* Element size in raw_data; 0 for types we do not read. */
static size_t raw_size(int dt) {
  switch (dt) {
  case DT_FLOAT: case DT_INT32: case DT_UINT32: return 4;
  case DT_UINT8: case DT_INT8: case DT_BOOL: return 1;
  case DT_UINT16: case DT_INT16: case DT_FLOAT16: case DT_BFLOAT16: return 2;
  case DT_INT64: case DT_DOUBLE: case DT_UINT64: return 8;
  default: return 0;
  }
}

static int is_float_type(int dt) {
  return dt == DT_FLOAT || dt == DT_DOUBLE || dt == DT_FLOAT16 ||
         dt == DT_BFLOAT16;
}

static float half_to_float(uint16_t h) {
  int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  float v;
  if (e == 0) v = ldexpf((float)m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = ldexpf((float)(m | 0x400), e - 25);
  return (h & 0x8000) ? -v : v;
}

static float bf16_to_float(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* Reads element i of a little-endian raw buffer as double / int64. */
static void raw_get(const uint8_t *p, int dt, int64_t i, double *fv,
                    int64_t *iv) {
  size_t es = raw_size(dt);
  uint64_t u = 0;
  for (size_t b = 0; b < es; b++) u |= (uint64_t)p[(size_t)i * es + b] << (8 * b);
  double d = 0;
  int64_t n = 0;
  switch (dt) {
  case DT_FLOAT: { uint32_t w = (uint32_t)u; float f; memcpy(&f, &w, 4); d = f; break; }
  case DT_DOUBLE: memcpy(&d, &u, 8); break;
  case DT_FLOAT16: d = half_to_float((uint16_t)u); break;
  case DT_BFLOAT16: d = bf16_to_float((uint16_t)u); break;
  case DT_UINT8: case DT_UINT16: case DT_UINT32: case DT_BOOL: n = (int64_t)u; break;
  case DT_UINT64: n = (int64_t)u; break;
  case DT_INT8: n = (int8_t)u; break;
  case DT_INT16: n = (int16_t)u; break;
  case DT_INT32: n = (int32_t)(uint32_t)u; break;
  case DT_INT64: n = (int64_t)u; break;
  }
  if (is_float_type(dt)) n = mts__f2i(d);
  else d = (double)n;
  *fv = d;
  *iv = n;
}

static const char *ext_key(const Onnx__TensorProto *tp, const char *key) {
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[i];
    if (e && e->key && e->value && strcmp(e->key, key) == 0) return e->value;
  }
  return NULL;
}

static int parse_i64(const char *s, int64_t *v) {
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (errno || end == s || *end || x < 0) return -1;
  *v = x;
  return 0;
}

/* Loads external data into a malloc'd buffer of exactly `want` bytes. */
static int read_external(const Onnx__TensorProto *tp, const char *file,
                         const char *dir, size_t want, uint8_t **out) {
  const char *tname = tp->name ? tp->name : "";
  const char *loc = ext_key(tp, "location");
  const char *soff = ext_key(tp, "offset"), *slen = ext_key(tp, "length");
  int64_t off = 0, len = (int64_t)want;
  char *path = NULL;
  FILE *f = NULL;
  uint8_t *buf = NULL;
  int rc = 0;
  *out = NULL;
  if (!loc || !*loc)
    return mts_seterr(MTS_EPARSE, "%s: tensor '%s': external data without "
                      "a location", file, tname);
  if ((soff && parse_i64(soff, &off)) || (slen && parse_i64(slen, &len)))
    return mts_seterr(MTS_EPARSE, "%s: tensor '%s': bad external data "
                      "offset/length", file, tname);
  if ((uint64_t)len != want)
    return mts_seterr(MTS_EPARSE, "%s: tensor '%s': external data length "
                      "%lld does not match its shape (%zu bytes)", file, tname,
                      (long long)len, want);
  size_t pl = strlen(dir) + strlen(loc) + 2;
  path = mts_xmalloc(pl);
  if (loc[0] == '/' || !dir[0]) snprintf(path, pl, "%s", loc);
  else snprintf(path, pl, "%s/%s", dir, loc);
  f = fopen(path, "rb");
  if (!f) {
    rc = mts_seterr(MTS_EIO, "%s: tensor '%s': cannot open external data "
                    "file '%s': %s", file, tname, path, strerror(errno));
    goto out;
  }
  if (fseeko(f, 0, SEEK_END) != 0 || ftello(f) < 0 ||
      (uint64_t)ftello(f) < (uint64_t)off + want) {
    rc = mts_seterr(MTS_EIO, "%s: tensor '%s': external data file '%s' is "
                    "shorter than offset %lld + length %zu", file, tname, path,
                    (long long)off, want);
    goto out;
  }
  buf = malloc(want ? want : 1);
  if (!buf) {
    rc = mts_seterr(MTS_ENOMEM, "%s: tensor '%s': out of memory", file, tname);
    goto out;
  }
  if (fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(buf, 1, want, f) != want) {
    rc = mts_seterr(MTS_EIO, "%s: tensor '%s': external data file '%s' is "
                    "shorter than offset %lld + length %zu", file, tname, path,
                    (long long)off, want);
    goto out;
  }
  *out = buf;
  buf = NULL;
out:
  free(buf);
  if (f) fclose(f);
  free(path);
  return rc;
}

static int decode(const Onnx__TensorProto *tp, Onnx__TensorProto *take, const char *file,
                  const char *dir, mts_dtype_t *dt, int *ndim, int64_t *dims, void **data);

int mts__tensor_decode(const Onnx__TensorProto *tp, const char *file,
                       const char *dir, mts_dtype_t *dt, int *ndim,
                       int64_t *dims, void **data) {
  return decode(tp, NULL, file, dir, dt, ndim, dims, data);
}

int mts__tensor_take(Onnx__TensorProto *tp, const char *file, const char *dir,
                     mts_dtype_t *dt, int *ndim, int64_t *dims, void **data) {
  return decode(tp, tp, file, dir, dt, ndim, dims, data);
}

static int decode(const Onnx__TensorProto *tp, Onnx__TensorProto *take, const char *file,
                  const char *dir, mts_dtype_t *dt, int *ndim, int64_t *dims, void **data) {
  const char *tname = tp->name ? tp->name : "";
  int type = tp->has_data_type ? tp->data_type : 0;
  uint8_t *ext = NULL;
  void *res = NULL;
  int rc = 0;
  *data = NULL;
  if (tp->n_dims > MTS_MAX_DIMS)
    return mts_seterr(MTS_EUNSUPPORTED, "%s: tensor '%s': %zu dims (max %d)",
                      file, tname, tp->n_dims, MTS_MAX_DIMS);
  for (size_t i = 0; i < tp->n_dims; i++) {
    if (tp->dims[i] < 0 || tp->dims[i] > MTS__ONNX_MAX_DIM)
      return mts_seterr(MTS_EPARSE, "%s: tensor '%s': bad dim %lld", file,
                        tname, (long long)tp->dims[i]);
    dims[i] = tp->dims[i];
  }
  *ndim = (int)tp->n_dims;
  int64_t n = mts__numel(*ndim, dims);
  if (n < 0)
    return mts_seterr(MTS_EPARSE, "%s: tensor '%s': too many elements", file,
                      tname);
  size_t es = raw_size(type);
  if (!es)
    return mts_seterr(MTS_EUNSUPPORTED, "%s: tensor '%s': unsupported data "
                      "type %d", file, tname, type);
  int isf = is_float_type(type);
  *dt = isf ? MTS_F32 : MTS_I64;
  float *fo = NULL;
  int64_t *io = NULL;
  const uint8_t *raw = NULL;
  size_t rawlen = 0;
  if (tp->has_data_location &&
      tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    rc = read_external(tp, file, dir, (size_t)n * es, &ext);
    if (rc) goto out;
    raw = ext;
    rawlen = (size_t)n * es;
  } else if (tp->has_raw_data) {
    raw = tp->raw_data.data;
    rawlen = tp->raw_data.len;
  }
  /* Sizes are checked against the payload before anything is allocated,
   * so a few bytes claiming a huge shape cannot exhaust memory. */
  size_t have = 0;
  if (!raw) {
    switch (type) {
    case DT_FLOAT: have = tp->n_float_data; break;
    case DT_DOUBLE: have = tp->n_double_data; break;
    case DT_INT64: have = tp->n_int64_data; break;
    case DT_UINT32: case DT_UINT64: have = tp->n_uint64_data; break;
    default: have = tp->n_int32_data; break;
    }
    if (have != (size_t)n) {
      rc = mts_seterr(MTS_EPARSE, "%s: tensor '%s': has %zu values, shape "
                      "needs %lld", file, tname, have, (long long)n);
      goto out;
    }
  } else if (rawlen != (size_t)n * es) {
    rc = mts_seterr(MTS_EPARSE, "%s: tensor '%s': raw_data has %zu bytes, "
                    "shape needs %lld", file, tname, rawlen,
                    (long long)((size_t)n * es));
    goto out;
  }
  if (take && raw && raw == take->raw_data.data && n > 0 && type == DT_FLOAT &&
      __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
    /* the payload protobuf-c allocated becomes the tensor's data: no copy
     * of ResNet-50's 100 MB (malloc'd: the graph frees it with free()) */
    res = take->raw_data.data;
    take->raw_data.data = NULL;
    take->raw_data.len = 0;
    take->has_raw_data = 0;
    goto out;
  }
  res = malloc((size_t)(n ? n : 1) * (isf ? sizeof(float) : sizeof(int64_t)));
  if (!res) {
    rc = mts_seterr(MTS_ENOMEM, "%s: tensor '%s': out of memory (%lld "
                    "elements)", file, tname, (long long)n);
    goto out;
  }
  fo = res;
  io = res;
  if (raw && type == DT_FLOAT && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
    memcpy(fo, raw, (size_t)n * sizeof(float)); /* (element by element: 0.1 s of ResNet-50's load) */
    goto out;
  }
  if (raw) {
    for (int64_t i = 0; i < n; i++) {
      double d;
      int64_t v;
      raw_get(raw, type, i, &d, &v);
      if (isf) fo[i] = (float)d;
      else io[i] = v;
    }
    goto out;
  }
  /* Typed fields: which one holds the data depends on the type. */
  for (int64_t i = 0; i < n; i++) {
    switch (type) {
    case DT_FLOAT: fo[i] = tp->float_data[i]; break;
    case DT_DOUBLE: fo[i] = (float)tp->double_data[i]; break;
    case DT_FLOAT16: fo[i] = half_to_float((uint16_t)tp->int32_data[i]); break;
    case DT_BFLOAT16: fo[i] = bf16_to_float((uint16_t)tp->int32_data[i]); break;
    case DT_INT64: io[i] = tp->int64_data[i]; break;
    case DT_UINT32: case DT_UINT64: io[i] = (int64_t)tp->uint64_data[i]; break;
    default: io[i] = tp->int32_data[i]; break;
    }
  }
out:
  free(ext);
  if (rc) free(res);
  else *data = res;
  return rc;
}

/* Reads a whole file into memory. */
static int slurp(const char *path, uint8_t **buf, size_t *len) {
  FILE *f = fopen(path, "rb");
  uint8_t *b = NULL;
  size_t cap = 0, n = 0;
  *buf = NULL;
  if (!f)
    return mts_seterr(MTS_EIO, "%s: cannot open: %s", path, strerror(errno));
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 65536;
      uint8_t *nb = realloc(b, cap);
      if (!nb) {
        free(b);
        fclose(f);
        return mts_seterr(MTS_ENOMEM, "%s: out of memory", path);
      }
      b = nb;
    }
    size_t r = fread(b + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(b);
    return mts_seterr(MTS_EIO, "%s: read error", path);
  }
  *buf = b;
  *len = n;
  return 0;
}

int mts__read_file(const char *path, uint8_t **buf, size_t *len) {
  return slurp(path, buf, len);
}

int mts_tensor_file_read(const char *path, float **data, int *ndim,
                         int64_t *dims) {
  uint8_t *buf = NULL;
  size_t len = 0;
  Onnx__TensorProto *tp = NULL;
  void *d = NULL;
  mts_dtype_t dt;
  int rc;
  *data = NULL;
  rc = slurp(path, &buf, &len);
  if (rc) return rc;
  tp = onnx__tensor_proto__unpack(NULL, len, buf);
  if (!tp) {
    rc = mts_seterr(MTS_EPARSE, "%s: not a valid TensorProto (protobuf "
                    "decode failed)", path);
    goto out;
  }
  rc = mts__tensor_decode(tp, path, "", &dt, ndim, dims, &d);
  if (rc) goto out;
  if (dt == MTS_I64) {
    int64_t n = mts__numel(*ndim, dims);
    float *f = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!f) {
      rc = mts_seterr(MTS_ENOMEM, "%s: out of memory", path);
      goto out;
    }
    for (int64_t i = 0; i < n; i++) f[i] = (float)((int64_t *)d)[i];
    free(d);
    d = f;
  }
  *data = d;
  d = NULL;
out:
  free(d);
  if (tp) onnx__tensor_proto__free_unpacked(tp, NULL);
  free(buf);
  return rc;
}

int mts_tensor_file_write(const char *path, const char *name, const float *data,
                          int ndim, const int64_t *dims) {
  Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
  int64_t d[MTS_MAX_DIMS];
  uint8_t *buf = NULL, *raw = NULL;
  FILE *f = NULL;
  int rc = 0;
  if (ndim < 0 || ndim > MTS_MAX_DIMS || (!data && ndim))
    return mts_seterr(MTS_EINVAL, "%s: bad tensor rank %d", path, ndim);
  memcpy(d, dims, sizeof(int64_t) * (size_t)ndim);
  int64_t n = mts__numel(ndim, d);
  if (n < 0) return mts_seterr(MTS_EINVAL, "%s: bad tensor shape", path);
  raw = malloc((size_t)n * 4 + 1);
  if (!raw) return mts_seterr(MTS_ENOMEM, "%s: out of memory", path);
  for (int64_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &data[i], 4);
    for (int b = 0; b < 4; b++) raw[i * 4 + b] = (uint8_t)(u >> (8 * b));
  }
  tp.n_dims = (size_t)ndim;
  tp.dims = d;
  tp.has_data_type = 1;
  tp.data_type = DT_FLOAT;
  tp.name = (char *)(name ? name : "");
  tp.has_raw_data = 1;
  tp.raw_data.data = raw;
  tp.raw_data.len = (size_t)n * 4;
  size_t len = onnx__tensor_proto__get_packed_size(&tp);
  buf = malloc(len + 1);
  if (!buf) {
    rc = mts_seterr(MTS_ENOMEM, "%s: out of memory", path);
    goto out;
  }
  onnx__tensor_proto__pack(&tp, buf);
  f = fopen(path, "wb");
  if (!f || fwrite(buf, 1, len, f) != len) {
    rc = mts_seterr(MTS_EIO, "%s: cannot write: %s", path, strerror(errno));
    goto out;
  }
out:
  if (f && fclose(f) != 0 && !rc)
    rc = mts_seterr(MTS_EIO, "%s: cannot write: %s", path, strerror(errno));
  free(buf);
  free(raw);
  return rc;
}
