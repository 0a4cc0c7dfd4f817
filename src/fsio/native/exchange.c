/*
 * renameat2(RENAME_EXCHANGE) for Node, which does not expose it: atomically swaps two existing
 * paths. jitd publishes the goal map with it (src/install/map-commit.ts): the map's previous
 * version lands at the temp name, intact, so a person's save that raced jitd's write is seen
 * and put back instead of replaced unseen (invariant 4). Built at install by node-gyp; where it
 * cannot be built (or on an old kernel: ENOSYS/EINVAL) jitd falls back to a guarded rename.
 *
 *   exchange(a: string, b: string): void   throws an Error with `code` (errno name) and `errno`
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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

static napi_value throw_errno(napi_env env, int err, const char *a, const char *b) {
  char message[2 * PATH_BYTES + 64];
  snprintf(message, sizeof message, "%s: %s, exchange '%s' <-> '%s'", errno_name(err), strerror(err), a, b);
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

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "exchange", NAPI_AUTO_LENGTH, exchange, NULL, &fn);
  napi_set_named_property(env, exports, "exchange", fn);
  return exports;
}
