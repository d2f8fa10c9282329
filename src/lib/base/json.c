/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "fs.h"
#include "json.h"
#include "macro.h"

static const char *dot(const char *where)
{
        return where && *where ? "." : "";
}

int json_get_str(json_t *o, const char *where, const char *key, const char **ret, struct err *err)
{
        json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return err_set(err, -EINVAL, "%s%s%s: must be a string", where, dot(where), key);
        *ret = json_string_value(v);
        return 0;
}

int json_get_bool(json_t *o, const char *where, const char *key, bool *ret, struct err *err)
{
        json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_boolean(v))
                return err_set(err, -EINVAL, "%s%s%s: must be true or false", where, dot(where), key);
        *ret = json_is_true(v);
        return 0;
}

int json_get_int(json_t *o, const char *where, const char *key, int64_t min, int64_t max, int64_t *ret,
                 struct err *err)
{
        json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v))
                return err_set(err, -EINVAL, "%s%s%s: must be an integer", where, dot(where), key);
        json_int_t i = json_integer_value(v);
        if (i < min || i > max)
                return err_set(err, -ERANGE, "%s%s%s: %lld is out of range [%lld, %lld]", where, dot(where),
                               key, (long long) i, (long long) min, (long long) max);
        *ret = i;
        return 0;
}

int json_get_u64(json_t *o, const char *where, const char *key, uint64_t *ret, struct err *err)
{
        json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v))
                return 0;
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
                *ret = (uint64_t) json_integer_value(v);
                return 0;
        }
        /* jansson keeps integers as long long: 2^64-1 (RLIM_INFINITY) arrives as a real */
        if (json_is_real(v) && json_real_value(v) >= 0) {
                double d = json_real_value(v);
                *ret = d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t) d;
                return 0;
        }
        return err_set(err, -EINVAL, "%s%s%s: must be a non-negative integer", where, dot(where), key);
}

int json_get_strv(json_t *o, const char *where, const char *key, char ***ret, struct err *err)
{
        json_t *v = json_object_get(o, key), *e;
        size_t i;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return err_set(err, -EINVAL, "%s%s%s: must be an array of strings", where, dot(where), key);
        char **out = xcalloc(json_array_size(v) + 1, sizeof(char *));
        json_array_foreach(v, i, e)
        {
                if (!json_is_string(e)) {
                        for (size_t k = 0; k < i; k++)
                                free(out[k]);
                        free(out);
                        return err_set(err, -EINVAL, "%s%s%s[%zu]: must be a string", where, dot(where), key,
                                       i);
                }
                out[i] = xstrdup(json_string_value(e));
        }
        *ret = out;
        return 0;
}

int json_get_obj(json_t *o, const char *where, const char *key, json_t **ret, struct err *err)
{
        json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_object(v))
                return err_set(err, -EINVAL, "%s%s%s: must be an object", where, dot(where), key);
        *ret = v;
        return 0;
}

int json_get_arr(json_t *o, const char *where, const char *key, json_t **ret, struct err *err)
{
        json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return err_set(err, -EINVAL, "%s%s%s: must be an array", where, dot(where), key);
        *ret = v;
        return 0;
}

/* jansson keeps integers as long long and refuses larger ones ("too big
 * integer"), but configs carry 2^64-1 (RLIM_INFINITY, as crun and runc take
 * it): a copy of buf where every positive integer past INT64_MAX, outside
 * strings, is written as a real (json_get_u64 reads those), or NULL when there
 * is none */
static char *big_ints_as_reals(const char *buf, size_t len, size_t *ret_len)
{
        char *out = NULL;
        size_t n = 0, cap = 0;
        bool in_str = false;
        for (size_t i = 0; i < len;) {
                size_t start = i;
                char prev = i ? buf[i - 1] : ' ';
                if (in_str) {
                        if (buf[i] == '\\')
                                i++;
                        else if (buf[i] == '"')
                                in_str = false;
                        i = i + 1 < len ? i + 1 : len;
                } else if (buf[i] == '"') {
                        in_str = true;
                        i++;
                } else if (buf[i] >= '0' && buf[i] <= '9' && prev != '-' && prev != '.' && prev != 'e' &&
                           prev != 'E' && prev != '+') {
                        while (i < len && buf[i] >= '0' && buf[i] <= '9')
                                i++;
                        size_t dl = i - start;
                        bool real = i < len && (buf[i] == '.' || buf[i] == 'e' || buf[i] == 'E');
                        if (!real && (dl > 19 || (dl == 19 && memcmp(buf + start, "9223372036854775807", 19) > 0))) {
                                if (!out) {
                                        cap = len + 64;
                                        out = xmalloc(cap);
                                        memcpy(out, buf, start);
                                        n = start;
                                }
                                if (n + dl + 3 > cap)
                                        out = xrealloc(out, cap = 2 * cap + dl + 3);
                                memcpy(out + n, buf + start, dl);
                                memcpy(out + n + dl, ".0", 2);
                                n += dl + 2;
                                continue;
                        }
                } else
                        i++;
                if (out) {
                        if (n + (i - start) > cap)
                                out = xrealloc(out, cap = 2 * cap + (i - start));
                        memcpy(out + n, buf + start, i - start);
                        n += i - start;
                }
        }
        *ret_len = n;
        return out;
}

json_t *json_load_path(const char *path, size_t max, struct err *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        json_error_t je;
        int r = fs_read_file(path, max, &buf, &len);
        if (r == -EFBIG) {
                err_set(err, r, "%s: larger than %zu bytes", path, max);
                return NULL;
        }
        if (r < 0) {
                err_sys(err, r, "cannot read %s", path);
                return NULL;
        }
        json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
        if (!j && strstr(je.text, "too big integer") && !strstr(je.text, "negative")) {
                size_t l2;
                _cleanup_free_ char *b2 = big_ints_as_reals(buf, len, &l2);
                if (b2)
                        j = json_loadb(b2, l2, JSON_REJECT_DUPLICATES, &je);
        }
        if (!j) {
                err_set(err, -EINVAL, "%s: invalid JSON at line %d, column %d: %s", path, je.line, je.column,
                        je.text);
                return NULL;
        }
        return j;
}

char *json_dump_str(json_t *j, bool pretty)
{
        char *s = json_dumps(j, pretty ? JSON_INDENT(2) | JSON_PRESERVE_ORDER : JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!s)
                s = xstrdup("null");
        return s;
}
