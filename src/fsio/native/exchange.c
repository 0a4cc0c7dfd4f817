/*
 * renameat2(RENAME_EXCHANGE) for Node, which does not expose it: atomically swaps two existing
 * paths. jitd publishes the goal map with it (src/install/map-commit.ts): the map's previous
 * version lands at the temp name, intact, so a person's save that raced jitd's write is seen
 * and put back instead of replaced unseen (invariant 4). Built at install by node-gyp; where it
 * cannot be built (or on an old kernel: ENOSYS/EINVAL) jitd falls back to a guarded rename.
 *
 *   exchange(a: string, b: string): void   throws an Error with `code` (errno name) and `errno`
 *
 * The same addon answers who is on the other end of a Unix socket, for the provenance of an
 * answer (src/ipc/peer-cred.ts): the kernel's SO_PEERCRED, which a client cannot forge, and,
 * apart, a uid's user name through getpwuid_r (so NSS sources, not only /etc/passwd, are asked;
 * peer-cred.ts caches it, as a slow source such as LDAP would block the event loop).
 *
 *   peerCred(fd: number): {uid, gid, pid}   throws an Error with `code` and `errno`
 *   userName(uid: number): string | undefined
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>

#define PATH_BYTES 4097

static const char *errno_name(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EXDEV: return "EXDEV";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case EBUSY: return "EBUSY";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    default: return "EUNKNOWN";
  }
}

static int take_path(napi_env env, napi_value v, char *buf) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, PATH_BYTES, &len) != napi_ok || len >= PATH_BYTES - 1) {
    napi_throw_type_error(env, "EINVAL", "exchange: expected two paths shorter than 4096 bytes");
    return 0;
  }
  return 1;
}

/* Throws an Error whose message starts with the errno name, with `code` and `errno` set. */
static napi_value throw_coded(napi_env env, int err, const char *message) {
  napi_value msg, error, code, num;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "code", code);
  napi_set_named_property(env, error, "errno", num);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_errno(napi_env env, int err, const char *a, const char *b) {
  char message[2 * PATH_BYTES + 64];
  snprintf(message, sizeof message, "%s: %s, exchange '%s' <-> '%s'", errno_name(err), strerror(err), a, b);
  return throw_coded(env, err, message);
}

static napi_value exchange(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    napi_throw_type_error(env, "EINVAL", "exchange: expected two paths");
    return NULL;
  }
  static char a[PATH_BYTES], b[PATH_BYTES];
  if (!take_path(env, argv[0], a) || !take_path(env, argv[1], b)) return NULL;
  if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0) return throw_errno(env, errno, a, b);
  return NULL;
}

static void set_uint(napi_env env, napi_value obj, const char *name, uint32_t value) {
  napi_value v;
  napi_create_uint32(env, value, &v);
  napi_set_named_property(env, obj, name, v);
}

/* The user name of `uid` into `out`, or 0 if it has none (or the lookup failed). */
static int user_name(uid_t uid, char *out, size_t size) {
  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  size_t len = hint > 0 ? (size_t)hint : 16384;
  for (int tries = 0; tries < 4; tries++, len *= 4) {
    char *buf = malloc(len);
    if (!buf) return 0;
    struct passwd pw, *found = NULL;
    int err = getpwuid_r(uid, &pw, buf, len, &found);
    int ok = err == 0 && found != NULL && found->pw_name != NULL && strlen(found->pw_name) < size;
    if (ok) snprintf(out, size, "%s", found->pw_name);
    free(buf);
    if (err != ERANGE) return ok;
  }
  return 0;
}

static napi_value peer_cred(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "EINVAL", "peerCred: expected a file descriptor");
    return NULL;
  }
  struct ucred cred;
  socklen_t size = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) {
    int err = errno;
    char message[128];
    snprintf(message, sizeof message, "%s: %s, getsockopt(%d, SO_PEERCRED)", errno_name(err), strerror(err), fd);
    return throw_coded(env, err, message);
  }
  napi_value out;
  napi_create_object(env, &out);
  set_uint(env, out, "uid", cred.uid);
  set_uint(env, out, "gid", cred.gid);
  set_uint(env, out, "pid", (uint32_t)cred.pid);
  return out;
}

static napi_value user_name_of(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t uid = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_uint32(env, argv[0], &uid) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "userName: expected a uid");
    return NULL;
  }
  char name[256];
  napi_value out;
  if (!user_name((uid_t)uid, name, sizeof name)) {
    napi_get_undefined(env, &out);
    return out;
  }
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn, peer;
  napi_create_function(env, "exchange", NAPI_AUTO_LENGTH, exchange, NULL, &fn);
  napi_set_named_property(env, exports, "exchange", fn);
  napi_create_function(env, "peerCred", NAPI_AUTO_LENGTH, peer_cred, NULL, &peer);
  napi_set_named_property(env, exports, "peerCred", peer);
  napi_value name;
  napi_create_function(env, "userName", NAPI_AUTO_LENGTH, user_name_of, NULL, &name);
  napi_set_named_property(env, exports, "userName", name);
  return exports;
}
