/* jsonpos.c — a minimal JSON scanner that maps value paths to line numbers
 * (see jsonpos.h).  It tracks only what a path needs: nesting of {} and [],
 * object keys and array indices; strings are skipped with their escapes so
 * that braces or newlines inside them do not confuse the count. */
#include "coordinator/jsonpos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/mts.h"

typedef struct {
  char *path;
  int line;
} jpos_entry_t;

struct mts__jpos {
  jpos_entry_t *e;
  size_t n, cap;
};

typedef struct {
  const char *s;  /* cursor */
  int line;
  mts__jpos_t *idx;
  int depth;
} scan_t;

/* Deep nesting cannot occur in a sane workload; the cap keeps the
 * recursion bounded on hostile input (jansson caps its own at 2048). */
#define JPOS_MAX_DEPTH 256

static void add(mts__jpos_t *p, const char *path, int line) {
  if (p->n == p->cap) {
    p->cap = p->cap ? 2 * p->cap : 32;
    p->e = mts_xrealloc(p->e, p->cap * sizeof *p->e);
  }
  p->e[p->n].path = mts_xstrdup(path);
  p->e[p->n].line = line;
  p->n++;
}

static void skip_ws(scan_t *sc) {
  for (;;) {
    char c = *sc->s;
    if (c == '\n') {
      sc->line++;
      sc->s++;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      sc->s++;
    } else {
      return;
    }
  }
}

/* Skips a string starting at '"'; if key != NULL, copies its raw content
 * (escapes left as written, which is what paths in messages should show). */
static int skip_string(scan_t *sc, char **key) {
  const char *start = ++sc->s;
  while (*sc->s && *sc->s != '"') {
    if (*sc->s == '\\' && sc->s[1]) sc->s++;
    else if (*sc->s == '\n') sc->line++;
    sc->s++;
  }
  if (*sc->s != '"') return -1;
  if (key) {
    size_t len = (size_t)(sc->s - start);
    *key = mts_xmalloc(len + 1);
    memcpy(*key, start, len);
    (*key)[len] = '\0';
  }
  sc->s++;
  return 0;
}

static int scan_value(scan_t *sc, const char *path);

static int scan_object(scan_t *sc, const char *path) {
  sc->s++;  /* '{' */
  skip_ws(sc);
  if (*sc->s == '}') {
    sc->s++;
    return 0;
  }
  for (;;) {
    skip_ws(sc);
    if (*sc->s != '"') return -1;
    int line = sc->line;
    char *key = NULL;
    if (skip_string(sc, &key) < 0) return -1;
    size_t len = strlen(path) + strlen(key) + 2;
    char *sub = mts_xmalloc(len);
    snprintf(sub, len, "%s%s%s", path, *path ? "." : "", key);
    free(key);
    add(sc->idx, sub, line);
    skip_ws(sc);
    int rc = -1;
    if (*sc->s == ':') {
      sc->s++;
      rc = scan_value(sc, sub);
    }
    free(sub);
    if (rc < 0) return -1;
    skip_ws(sc);
    if (*sc->s == ',') {
      sc->s++;
    } else if (*sc->s == '}') {
      sc->s++;
      return 0;
    } else {
      return -1;
    }
  }
}

static int scan_array(scan_t *sc, const char *path) {
  sc->s++;  /* '[' */
  skip_ws(sc);
  if (*sc->s == ']') {
    sc->s++;
    return 0;
  }
  for (long i = 0;; i++) {
    skip_ws(sc);
    size_t len = strlen(path) + 24;
    char *sub = mts_xmalloc(len);
    snprintf(sub, len, "%s[%ld]", path, i);
    add(sc->idx, sub, sc->line);
    int rc = scan_value(sc, sub);
    free(sub);
    if (rc < 0) return -1;
    skip_ws(sc);
    if (*sc->s == ',') {
      sc->s++;
    } else if (*sc->s == ']') {
      sc->s++;
      return 0;
    } else {
      return -1;
    }
  }
}

static int scan_value(scan_t *sc, const char *path) {
  skip_ws(sc);
  int rc;
  switch (*sc->s) {
  case '{':
  case '[':
    if (++sc->depth > JPOS_MAX_DEPTH) return -1;
    rc = *sc->s == '{' ? scan_object(sc, path) : scan_array(sc, path);
    sc->depth--;
    return rc;
  case '"':
    return skip_string(sc, NULL);
  case '\0':
    return -1;
  default:
    /* number, true, false, null: up to the next delimiter */
    while (*sc->s && !strchr(",}] \t\r\n", *sc->s)) sc->s++;
    return 0;
  }
}

int mts__jpos_build(const char *text, mts__jpos_t **out) {
  mts__jpos_t *p = mts_xcalloc(1, sizeof *p);
  scan_t sc = {.s = text, .line = 1, .idx = p, .depth = 0};
  skip_ws(&sc);
  add(p, "", sc.line);
  (void)scan_value(&sc, "");  /* partial index on malformed text is fine */
  *out = p;
  return 0;
}

void mts__jpos_destroy(mts__jpos_t *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) free(p->e[i].path);
  free(p->e);
  free(p);
}

int mts__jpos_line(const mts__jpos_t *p, const char *path) {
  if (!p) return 1;
  char *buf = mts_xstrdup(path);
  int line = 1;
  for (;;) {
    for (size_t i = 0; i < p->n; i++) {
      if (strcmp(p->e[i].path, buf) == 0) {
        line = p->e[i].line;
        goto out;
      }
    }
    if (!*buf) goto out;
    /* strip the last component: ".key" or "[i]" */
    char *dot = strrchr(buf, '.');
    char *br = strrchr(buf, '[');
    char *cut = dot > br ? dot : br;
    if (!cut) cut = buf;
    *cut = '\0';
  }
out:
  free(buf);
  return line;
}
