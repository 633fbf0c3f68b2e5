/*
 * Batched UDP I/O for dnsward's listeners (Linux): recvmmsg(2) reads up to BATCH datagrams
 * per wake-up and hands them to JavaScript in one call; replies produced during that call are
 * sent together with one sendmmsg(2). With I/O threads each socket sets SO_REUSEPORT, so every
 * worker gets its own socket and the kernel spreads clients across them.
 *
 * Why: per-datagram costs in Node's dgram (one JS callback, one syscall and one Buffer per
 * packet in each direction) dominate a cache hit. This file is optional: without it, dnsward
 * uses node:dgram (src/server/udp-listener.ts), and every test runs on either.
 *
 * Threads: every Node environment that loads the addon (the main thread, each worker thread)
 * gets its own batch state as N-API instance data, and a socket belongs to the environment that
 * opened it. A batch running on one thread never holds back, or flushes, another thread's sends.
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sched.h>

#define BATCH 32
#define SLOT 4096
#define META 8 /* int32 per datagram: length, port, family, truncated, address (16 bytes) */

struct envstate;

typedef struct bsock {
  napi_env env;
  struct envstate *st;
  /* The environment's open sockets, so a thread that ends closes them (see cleanup_env). */
  struct bsock *next, *prev;
  int fd;
  int ipv6;
  int closing;
  uv_poll_t poll;
  napi_ref on_batch;
  napi_ref data_ref;
  napi_ref meta_ref;
  napi_async_context async_context;
  uint8_t *rbuf;
  int32_t *rmeta;
  struct mmsghdr rmsg[BATCH];
  struct iovec riov[BATCH];
  struct sockaddr_storage raddr[BATCH];
  struct mmsghdr smsg[BATCH];
  struct iovec siov[BATCH];
  struct sockaddr_storage saddr[BATCH];
  uint8_t sbuf[BATCH * SLOT];
  int scount;
  int connected;
  int dirty;
  double send_errors;
  int started;
  struct hbox *box;
} bsock;

/*
 * What JavaScript holds: an external pointing at this box, not at the socket. The box lives
 * as long as the external (freed by its finalizer); close() clears box->s before the socket
 * is freed, so a handle used after close, or closed twice, finds NULL and gets EBADF or a
 * no-op instead of touching freed memory. The external carries a type tag, so any other
 * value (or another addon's external) is refused too.
 */
typedef struct hbox {
  bsock *s;
} hbox;

static const napi_type_tag HANDLE_TAG = {0x646e737761726475ULL, 0x6470626174636801ULL};

/*
 * Sends produced while JavaScript handles any batch (client queries or upstream answers) are
 * queued on their socket and flushed together when the outermost batch returns: a batch of
 * cache misses leaves as one sendmmsg per upstream socket, and a batch of upstream answers
 * goes back to clients as one sendmmsg.
 */
#define MAX_DIRTY 1024
typedef struct envstate {
  bsock *dirty[MAX_DIRTY];
  int dirty_count;
  int batch_depth;
  bsock *open;
  int closing;
  int finalized;
  napi_async_cleanup_hook_handle hook;
} envstate;

static void link_open(envstate *st, bsock *s) {
  s->prev = NULL;
  s->next = st->open;
  if (st->open) st->open->prev = s;
  st->open = s;
}

static void unlink_open(bsock *s) {
  envstate *st = s->st;
  if (s->prev) s->prev->next = s->next;
  else if (st && st->open == s) st->open = s->next;
  if (s->next) s->next->prev = s->prev;
  s->next = s->prev = NULL;
}

static void finalize_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  envstate *st = data;
  /* Sockets still closing at exit free the state when the last one is closed. */
  if (st->closing > 0) st->finalized = 1;
  else free(st);
}

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, "DNSWARD_ERR_NATIVE", "N-API call failed: " #call); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  napi_throw_error(env, "DNSWARD_ERR_SOCKET", msg);
  return NULL;
}

/* The open socket behind a handle, or NULL for anything else (closed, foreign, not a handle). */
static bsock *unwrap(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  bool tagged = false;
  if (napi_check_object_type_tag(env, v, &HANDLE_TAG, &tagged) != napi_ok || !tagged) return NULL;
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) return NULL;
  bsock *s = ((hbox *)p)->s;
  return s && !s->closing ? s : NULL;
}

static void finalize_box(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  hbox *b = data;
  /* A socket never closed stays open (as before); it just no longer has a box to clear. */
  if (b->s) b->s->box = NULL;
  free(b);
}

static void flush(bsock *s) {
  int off = 0;
  while (off < s->scount) {
    int n = sendmmsg(s->fd, s->smsg + off, s->scount - off, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      s->send_errors += s->scount - off;
      break;
    }
    off += n;
  }
  s->scount = 0;
}

static void flush_all(envstate *st) {
  for (int i = 0; i < st->dirty_count; i++) {
    bsock *d = st->dirty[i];
    d->dirty = 0;
    if (d->closing) d->scount = 0;
    else flush(d);
  }
  st->dirty_count = 0;
}

static void fill_addr(bsock *s, struct sockaddr_storage *ss, socklen_t *len, int port, const int32_t *words) {
  memset(ss, 0, sizeof *ss);
  if (s->ipv6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    memcpy(&a->sin6_addr, words, 16);
    *len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    memcpy(&a->sin_addr, words, 4);
    *len = sizeof *a;
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  bsock *s = (bsock *)handle->data;
  if (s->closing) return;
  int pending_error = 0;
  if (status < 0) {
    /* POLLERR: a pending socket error, such as ICMP port unreachable on a connected socket.
       libuv stops the poll handle when it reports one, so take the error (SO_ERROR clears it),
       start polling again, and hand the error to JavaScript. */
    socklen_t l = sizeof pending_error;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &pending_error, &l);
    uv_poll_start(&s->poll, UV_READABLE, on_readable);
    if (pending_error == 0) return;
  }
  for (int i = 0; i < BATCH; i++) {
    s->riov[i].iov_base = s->rbuf + i * SLOT;
    s->riov[i].iov_len = SLOT;
    memset(&s->rmsg[i].msg_hdr, 0, sizeof s->rmsg[i].msg_hdr);
    s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
    s->rmsg[i].msg_hdr.msg_iovlen = 1;
    s->rmsg[i].msg_hdr.msg_name = &s->raddr[i];
    s->rmsg[i].msg_hdr.msg_namelen = sizeof s->raddr[i];
  }
  /* Errors other than "nothing to read" go to JavaScript as -errno: on a connected socket,
     ECONNREFUSED means the upstream is not listening. */
  int n = pending_error ? -pending_error : recvmmsg(s->fd, s->rmsg, BATCH, MSG_DONTWAIT, NULL);
  if (n < 0 && !pending_error) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    n = -errno;
  }
  if (n == 0) return;
  for (int i = 0; i < n; i++) { /* no iteration when n < 0 */
    int32_t *m = s->rmeta + i * META;
    m[0] = (int32_t)s->rmsg[i].msg_len;
    m[3] = (s->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) ? 1 : 0;
    memset(m + 4, 0, 16);
    if (s->raddr[i].ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s->raddr[i];
      m[1] = ntohs(a->sin6_port);
      m[2] = 6;
      memcpy(m + 4, &a->sin6_addr, 16);
    } else {
      struct sockaddr_in *a = (struct sockaddr_in *)&s->raddr[i];
      m[1] = ntohs(a->sin_port);
      m[2] = 4;
      memcpy(m + 4, &a->sin_addr, 4);
    }
  }
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, arg, result;
  napi_get_reference_value(env, s->on_batch, &cb);
  napi_get_global(env, &recv); /* napi_make_callback needs an object as receiver */
  napi_create_int32(env, n, &arg);
  envstate *es = s->st;
  es->batch_depth++;
  napi_status st = napi_make_callback(env, s->async_context, recv, cb, 1, &arg, &result);
  if (--es->batch_depth == 0) flush_all(es);
  if (st == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

/* open(host, port, ipv6, receiveBufferBytes, reusePort) -> { handle, data, meta, port } */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char host[64];
  size_t hostlen;
  int32_t port, rcvbuf;
  bool ipv6, reuse_port;
  CHECK(napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hostlen));
  CHECK(napi_get_value_int32(env, argv[1], &port));
  CHECK(napi_get_value_bool(env, argv[2], &ipv6));
  CHECK(napi_get_value_int32(env, argv[3], &rcvbuf));
  CHECK(napi_get_value_bool(env, argv[4], &reuse_port));

  int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket");
  int one = 1;
  /* Only for I/O threads sharing a port: a lone socket must get EADDRINUSE from a port already taken. */
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
    close(fd);
    return throw_errno(env, "setsockopt(SO_REUSEPORT)");
  }
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_storage ss;
  socklen_t sslen;
  memset(&ss, 0, sizeof ss);
  if (ipv6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) { close(fd); errno = EINVAL; return throw_errno(env, "inet_pton"); }
    sslen = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) { close(fd); errno = EINVAL; return throw_errno(env, "inet_pton"); }
    sslen = sizeof *a;
  }
  if (bind(fd, (struct sockaddr *)&ss, sslen) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return throw_errno(env, "bind");
  }
  sslen = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sslen);
  int bound = ipv6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) : ntohs(((struct sockaddr_in *)&ss)->sin_port);

  bsock *s = calloc(1, sizeof *s);
  hbox *box = calloc(1, sizeof *box);
  if (!s || !box) {
    free(s);
    free(box);
    close(fd);
    napi_throw_error(env, "DNSWARD_ERR_NATIVE", "out of memory");
    return NULL;
  }
  s->env = env;
  void *st = NULL;
  if (napi_get_instance_data(env, &st) != napi_ok || st == NULL) goto fail;
  s->st = st;
  s->fd = fd;
  s->ipv6 = ipv6;
  for (int i = 0; i < BATCH; i++) {
    s->siov[i].iov_base = s->sbuf + i * SLOT;
    s->smsg[i].msg_hdr.msg_iov = &s->siov[i];
    s->smsg[i].msg_hdr.msg_iovlen = 1;
    s->smsg[i].msg_hdr.msg_name = &s->saddr[i];
  }
  napi_value data, meta, handle, out, portv, name;
  void *p;
  /* On any failure below the socket is closed and freed: nothing half-made reaches JavaScript. */
  if (napi_create_arraybuffer(env, BATCH * SLOT, &p, &data) != napi_ok) goto fail;
  s->rbuf = p;
  if (napi_create_arraybuffer(env, BATCH * META * 4, &p, &meta) != napi_ok) goto fail;
  s->rmeta = p;
  if (napi_create_reference(env, data, 1, &s->data_ref) != napi_ok) goto fail;
  if (napi_create_reference(env, meta, 1, &s->meta_ref) != napi_ok) goto fail;
  if (napi_create_string_utf8(env, "dnsward-udp-batch", NAPI_AUTO_LENGTH, &name) != napi_ok) goto fail;
  if (napi_async_init(env, NULL, name, &s->async_context) != napi_ok) goto fail;
  box->s = s;
  s->box = box;
  if (napi_create_external(env, box, finalize_box, NULL, &handle) != napi_ok) {
    s->box = NULL;
    goto fail;
  }
  /* From here the external owns the box: its finalizer frees it. */
  if (napi_type_tag_object(env, handle, &HANDLE_TAG) != napi_ok) goto fail_owned;
  if (napi_create_object(env, &out) != napi_ok) goto fail_owned;
  if (napi_create_int32(env, bound, &portv) != napi_ok) goto fail_owned;
  if (napi_set_named_property(env, out, "handle", handle) != napi_ok) goto fail_owned;
  if (napi_set_named_property(env, out, "data", data) != napi_ok) goto fail_owned;
  if (napi_set_named_property(env, out, "meta", meta) != napi_ok) goto fail_owned;
  if (napi_set_named_property(env, out, "port", portv) != napi_ok) goto fail_owned;
  link_open(s->st, s);
  return out;
fail_owned:
  box->s = NULL;
  box = NULL;
fail:
  if (s->data_ref) napi_delete_reference(env, s->data_ref);
  if (s->meta_ref) napi_delete_reference(env, s->meta_ref);
  if (s->async_context) napi_async_destroy(env, s->async_context);
  close(fd);
  free(s);
  free(box);
  napi_throw_error(env, "DNSWARD_ERR_NATIVE", "could not set up the socket's handle");
  return NULL;
}

/* start(handle, onBatch(count)) */
static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) { napi_throw_type_error(env, NULL, "start(handle, onBatch)"); return NULL; }
  bsock *s = unwrap(env, argv[0]);
  if (!s) { napi_throw_error(env, "DNSWARD_ERR_SOCKET", "socket handle is closed or not a socket"); return NULL; }
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[1], &t));
  if (t != napi_function) { napi_throw_type_error(env, NULL, "onBatch must be a function"); return NULL; }
  /* A second uv_poll_init on a polled handle would corrupt the loop's handle queue. */
  if (s->started) { napi_throw_error(env, "DNSWARD_ERR_SOCKET", "socket already started"); return NULL; }
  s->started = 1;
  CHECK(napi_create_reference(env, argv[1], 1, &s->on_batch));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  int rc = uv_poll_init(loop, &s->poll, s->fd);
  if (rc == 0) {
    s->poll.data = s;
    rc = uv_poll_start(&s->poll, UV_READABLE, on_readable);
  }
  if (rc != 0) {
    napi_throw_error(env, "DNSWARD_ERR_SOCKET", uv_strerror(rc));
    return NULL;
  }
  return NULL;
}

/* send(handle, bytes, port, addressWords(Int32Array of 4)) -> 0, or an errno */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], ret;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) { napi_throw_type_error(env, NULL, "send(handle, bytes, port, addressWords)"); return NULL; }
  bsock *s = unwrap(env, argv[0]);
  if (!s) { napi_create_int32(env, EBADF, &ret); return ret; }
  void *bytes, *words;
  size_t len, wlen;
  napi_typedarray_type t, wt;
  napi_value ab;
  size_t off;
  int32_t port;
  bool is_ta = false, words_ta = false;
  CHECK(napi_is_typedarray(env, argv[1], &is_ta));
  CHECK(napi_is_typedarray(env, argv[3], &words_ta));
  if (!is_ta || !words_ta) { napi_throw_type_error(env, NULL, "bytes must be a Uint8Array, addressWords an Int32Array"); return NULL; }
  CHECK(napi_get_typedarray_info(env, argv[1], &t, &len, &bytes, &ab, &off));
  CHECK(napi_get_value_int32(env, argv[2], &port));
  CHECK(napi_get_typedarray_info(env, argv[3], &wt, &wlen, &words, &ab, &off));
  /* fill_addr reads 16 bytes of words; len counts bytes only for a Uint8Array. */
  if (t != napi_uint8_array || wt != napi_int32_array || wlen < 4) { napi_throw_type_error(env, NULL, "bytes must be a Uint8Array, addressWords an Int32Array of 4"); return NULL; }
  int err = 0;
  envstate *es = s->st;
  if (es->batch_depth > 0 && len <= SLOT && (s->dirty || es->dirty_count < MAX_DIRTY)) {
    int i = s->scount;
    memcpy(s->sbuf + i * SLOT, bytes, len);
    s->siov[i].iov_len = len;
    if (s->connected) {
      s->smsg[i].msg_hdr.msg_name = NULL;
      s->smsg[i].msg_hdr.msg_namelen = 0;
    } else {
      socklen_t sl;
      fill_addr(s, &s->saddr[i], &sl, port, words);
      s->smsg[i].msg_hdr.msg_name = &s->saddr[i];
      s->smsg[i].msg_hdr.msg_namelen = sl;
    }
    if (!s->dirty) {
      s->dirty = 1;
      es->dirty[es->dirty_count++] = s;
    }
    if (++s->scount == BATCH) flush(s);
  } else if (s->connected) {
    if (send(s->fd, bytes, len, 0) < 0) {
      err = errno;
      s->send_errors++;
    }
  } else {
    struct sockaddr_storage ss;
    socklen_t sl;
    fill_addr(s, &ss, &sl, port, words);
    if (sendto(s->fd, bytes, len, 0, (struct sockaddr *)&ss, sl) < 0) {
      err = errno;
      s->send_errors++;
    }
  }
  napi_create_int32(env, err, &ret);
  return ret;
}

/* connect(handle, host, port): for upstream sockets; the kernel then drops datagrams from
   any other source, and sends need no address. */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) { napi_throw_type_error(env, NULL, "connect(handle, host, port)"); return NULL; }
  bsock *s = unwrap(env, argv[0]);
  if (!s) { napi_throw_error(env, "DNSWARD_ERR_SOCKET", "socket handle is closed or not a socket"); return NULL; }
  char host[64];
  size_t hostlen;
  int32_t port;
  CHECK(napi_get_value_string_utf8(env, argv[1], host, sizeof host, &hostlen));
  CHECK(napi_get_value_int32(env, argv[2], &port));
  struct sockaddr_storage ss;
  socklen_t sl;
  int32_t words[4] = {0, 0, 0, 0};
  if (inet_pton(s->ipv6 ? AF_INET6 : AF_INET, host, words) != 1) { errno = EINVAL; return throw_errno(env, "inet_pton"); }
  fill_addr(s, &ss, &sl, port, words);
  if (connect(s->fd, (struct sockaddr *)&ss, sl) < 0) return throw_errno(env, "connect");
  s->connected = 1;
  return NULL;
}

static void drop_dirty(bsock *s) {
  envstate *st = s->st;
  for (int i = 0; i < st->dirty_count; i++) {
    if (st->dirty[i] == s) {
      st->dirty[i] = st->dirty[--st->dirty_count];
      break;
    }
  }
}

static void on_closed(uv_handle_t *h) {
  bsock *s = (bsock *)h->data;
  close(s->fd);
  free(s);
}

static void detach_box(bsock *s) {
  if (s->box) s->box->s = NULL;
  s->box = NULL;
}

/* close(handle) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return NULL;
  /* Closed already, or not a handle: nothing to do (close is idempotent). */
  bsock *s = unwrap(env, argv[0]);
  if (!s) return NULL;
  s->closing = 1;
  detach_box(s);
  unlink_open(s);
  if (s->dirty) {
    flush(s);
    drop_dirty(s);
    s->dirty = 0;
  }
  if (s->on_batch) napi_delete_reference(env, s->on_batch);
  napi_delete_reference(env, s->data_ref);
  napi_delete_reference(env, s->meta_ref);
  napi_async_destroy(env, s->async_context);
  if (s->poll.data) { /* initialised by start(): libuv owns it until on_closed */
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_closed);
  } else {
    close(s->fd);
    free(s);
  }
  return NULL;
}

/*
 * A worker thread that ends (or is terminated) with sockets still open: libuv refuses to close
 * a loop with live poll handles (Node aborts the process), so every socket this environment
 * opened is closed here, and the environment is let go once libuv has closed their handles.
 */
static void on_closed_at_exit(uv_handle_t *h) {
  bsock *s = (bsock *)h->data;
  envstate *st = s->st;
  close(s->fd);
  free(s);
  if (--st->closing > 0) return;
  napi_remove_async_cleanup_hook(st->hook);
  if (st->finalized) free(st);
}

static void cleanup_env(napi_async_cleanup_hook_handle handle, void *arg) {
  envstate *st = arg;
  st->hook = handle;
  st->dirty_count = 0;
  st->closing = 1; /* held until the loop below has started every close */
  while (st->open) {
    bsock *s = st->open;
    unlink_open(s);
    s->closing = 1;
    detach_box(s);
    if (s->poll.data) {
      st->closing++;
      uv_poll_stop(&s->poll);
      uv_close((uv_handle_t *)&s->poll, on_closed_at_exit);
    } else {
      close(s->fd);
      free(s);
    }
  }
  if (--st->closing == 0) napi_remove_async_cleanup_hook(st->hook);
}

/*
 * lowerThreadPriority(n) -> the calling thread's nice value after raising it by n. On Linux,
 * setpriority on a thread id applies to that thread alone: the brain (the main thread) yields
 * the CPU to the I/O threads when they compete for it, so its work never delays an answer.
 */
static napi_value js_lower_thread_priority(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], ret;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t by = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &by) != napi_ok) by = 0;
  pid_t tid = (pid_t)syscall(SYS_gettid);
  errno = 0;
  int now = getpriority(PRIO_PROCESS, (id_t)tid);
  if (now == -1 && errno != 0) return throw_errno(env, "getpriority");
  int next = now + by > 19 ? 19 : now + by;
  if (setpriority(PRIO_PROCESS, (id_t)tid, next) != 0) return throw_errno(env, "setpriority");
  /* Past the nice range: SCHED_IDLE, run only when a core has nothing else to run. */
  if (now + by > 19) {
    struct sched_param param = {0};
    if (sched_setscheduler(tid, SCHED_IDLE, &param) != 0) return throw_errno(env, "sched_setscheduler");
  }
  napi_create_int32(env, next, &ret);
  return ret;
}

/* stats(handle) -> send errors */
static napi_value js_send_errors(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], ret;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bsock *s = argc < 1 ? NULL : unwrap(env, argv[0]);
  napi_create_double(env, s ? s->send_errors : 0, &ret);
  return ret;
}

static napi_value init(napi_env env, napi_value exports) {
  envstate *st = calloc(1, sizeof *st);
  if (st == NULL || napi_set_instance_data(env, st, finalize_state, NULL) != napi_ok) {
    free(st);
    napi_throw_error(env, "DNSWARD_ERR_NATIVE", "could not set up the addon's state for this thread");
    return NULL;
  }
  if (napi_add_async_cleanup_hook(env, cleanup_env, st, &st->hook) != napi_ok) {
    napi_throw_error(env, "DNSWARD_ERR_NATIVE", "could not register the addon's cleanup for this thread");
    return NULL;
  }
  napi_property_descriptor props[] = {
    {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
    {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
    {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
    {"connect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
    {"sendErrors", NULL, js_send_errors, NULL, NULL, NULL, napi_default, NULL},
    {"lowerThreadPriority", NULL, js_lower_thread_priority, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value batch, slot, meta;
  napi_create_int32(env, BATCH, &batch);
  napi_create_int32(env, SLOT, &slot);
  napi_create_int32(env, META, &meta);
  napi_set_named_property(env, exports, "BATCH", batch);
  napi_set_named_property(env, exports, "SLOT", slot);
  napi_set_named_property(env, exports, "META", meta);
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
